// Type-level test (tsc --noEmit, never run): every hook, option and result type is declared,
// and mistakes do not type-check.
import {
  Frame,
  LocalPublisher,
  Player,
  Publisher,
  Server,
  Subscription,
  bufferAddress,
  setLogger,
  version,
  type ClientOptions,
  type DataMessage,
  type DisconnectReason,
  type ForwardStats,
  type HookName,
  type PlayerEvent,
  type PublishAccept,
  type PullStats,
  type Password,
  type PublishAuth,
  type RelayState,
  type RtmpRequest,
  type ServerHandler,
  type ServerOptions,
  type ServerStats,
  type Session,
  type PeerKind,
  type StreamEvent,
  type StreamInfo,
  type StreamKey,
  type StreamNameInfo,
  type Upstreams,
  type SubscribeOptions,
  type SubscriptionItem,
} from 'rtmp-rs'

// Not `Required<>`: each option is checked by the schema-driven conformance suite; this checks types.
const everyOption: ServerOptions = {
  bind: '127.0.0.1:0',
  maxConnections: 10,
  chunkSize: 4096,
  connectionTimeoutMs: 1000,
  idleTimeoutMs: 1000,
  windowAckSize: 2_500_000,
  peerBandwidth: 2_500_000,
  maxMessageSize: 1 << 20,
  maxChunkStreams: 64,
  maxStreamsPerConnection: 8,
  maxAmfDepth: 32,
  maxAmfEntries: 1024,
  maxAmfDecodedBytes: 1 << 20,
  playerQueueLength: 512,
  playerStallTimeoutMs: 1000,
  socketSendBuffer: 1 << 16,
  gopCacheMaxBytes: 1 << 20,
  gopCacheMaxDurationMs: 5000,
  publisherPolicy: 'take-over',
  playWaitTimeoutMs: Infinity,
  normalizeTimestamps: true,
  enhancedRtmp: true,
  fourccList: ['avc1'],
  capsEx: 0,
  statsIntervalMs: 0,
  writeCoalescingMs: 0,
  readCoalescingMs: 0,
  tls: { bind: '127.0.0.1:0', certFile: 'cert.pem', keyFile: 'key.pem' },
  workerThreads: 1,
  decisionTimeoutMs: 100,
  mediaTagTimeoutMs: 100,
}

// Not `Required<>` either: the plain options are the schema's (see conformance.test.mjs).
const everyClientOption: ClientOptions = {
  connectTimeoutMs: 1000,
  idleTimeoutMs: 30000,
  ping: true,
  tls: { insecureSkipVerify: true, caFile: 'ca.pem' },
  enhancedRtmp: false,
  flashVer: 'FMLE/3.0',
  reconnect: { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 3 },
  eventBuffer: 16,
  chunkSize: 4096,
}

const everyHook: Required<ServerHandler> = {
  onConnection: (session: Session, request: RtmpRequest) => session.id === 0 && request.kind === 'connection',
  onHandshakeComplete: (session: Session) => void session.peerAddr,
  onConnect: async (session: Session) => session.query.key === 'v',
  onFcPublish: (_session: Session, name: StreamNameInfo) => void name.raw,
  onPublish: async (_session: Session, request: RtmpRequest) => {
    if (request.query.token !== 'x') throw new Error('Bad token.')
  },
  onUnpublish: (_session: Session, key: StreamKey) => void key.app,
  onPublishInterrupted: (_session: Session, key: StreamKey) => void key.name,
  onPublishResumed: (_session: Session, _key: StreamKey, outageMs: number) => void outageMs.toFixed(),
  onPlay: (_session: Session, request: RtmpRequest) =>
    request.start === -2 ? true : { latencyBudgetMs: request.name === 'archive' ? null : 500 },
  onPlayStop: async () => {},
  onPause: () => {},
  onUnpause: () => {},
  onMetadata: (_session: Session, frame: Frame) => void frame.metadata?.width,
  onMediaTag: (_session: Session, frame: Frame) => frame.kind !== 'data',
  onVideoFrame: (_session: Session, frame: Frame) => void frame.payload.readUInt8(0),
  onAudioFrame: (_session: Session, frame: Frame) => void frame.body.length,
  onKeyframe: (_session: Session, frame: Frame) => void (bufferAddress(frame.payload) === frame.payloadAddress()),
  onDisconnect: (_session: Session, reason: DisconnectReason) => void reason.kind,
  onStats: (stats: ServerStats) => void stats.streams[0]?.players[0]?.queueDepth,
  onForward: (key: StreamKey, forward: ForwardStats) => void [key.name, forward.url, forward.bytesOut],
  onLocate: async (key: StreamKey): Promise<Upstreams> => (key.app === 'live' ? [`rtmp://origin/live/${key.name}`] : null),
  onPull: (_key: StreamKey, pull: PullStats) => void [pull.state, pull.bytesIn, pull.lastError],
  onData: (session: Session, key: StreamKey, data: DataMessage) => void [session.user?.length, key.name, data.name, data.values[0]],
  onCredentials: async (app: string, user: string): Promise<Password> => (app === 'live' && user === 'alice' ? 's3cret' : null),
  onError: (error: unknown, hook: HookName) => void [error, hook],
}

async function use(): Promise<void> {
  const server = new Server(everyOption, everyHook)
  await server.listen()
  const port: number | null = server.port
  const player: Player = await Player.connect(`rtmp://127.0.0.1:${port}/live/cam`, everyClientOption)
  for await (const frame of player) {
    const kind: 'audio' | 'video' | 'data' | 'metadata' = frame.kind
    void kind
  }
  const event: PlayerEvent | null = await player.read()
  if (event?.type === 'status') void event.code
  const publisher = await Publisher.connect(`rtmp://127.0.0.1:${port}/live/copy`)
  await publisher.sendMetadata({ width: 640 })
  await publisher.sendVideo(0, Buffer.from([0x17, 0, 0, 0, 0]))
  if (event?.frame) await publisher.sendFrame(event.frame)
  const tags: number = await publisher.publishFlv('in.flv')
  void tags
  await publisher.close()
  await player.close()
  const stats: ServerStats = server.stats()
  void stats.bytesIn
  server.addForward('live/cam', 'rtmp://cdn.example/live/cam')
  const removed: boolean = server.removeForward('live/cam', 'rtmp://cdn.example/live/cam')
  const forwards: ForwardStats[] = stats.streams[0]?.forwards ?? []
  const state: RelayState | undefined = forwards[0]?.state
  const lastError: string | undefined = stats.streams[0]?.pull?.lastError
  const dropped: number | undefined = forwards[0]?.droppedVideo
  void [removed, state, lastError, dropped]
  await server.close()
  setLogger((level, target, message) => void [level, target, message], 'debug')
  setLogger(null)
  void version()
}
void use

// Streams in-process: subscribe (an async iterable of frames and events), publish (synchronous
// sends), streams().
async function local(server: Server): Promise<void> {
  const options: SubscribeOptions = { start: 'keyframe', waitMs: Infinity, latencyBudgetMs: 500 }
  const subscription: Subscription = await server.subscribe('live/cam', options)
  const out: LocalPublisher = server.publish('live/out')
  for await (const item of subscription) {
    const typed: SubscriptionItem = item
    void typed
    switch (item.kind) {
      case 'video':
      case 'audio':
      case 'metadata':
      case 'data': {
        const frame: Frame = item
        const sent: void = out.sendFrame(frame)
        void sent
        break
      }
      case 'dropped': {
        const event: StreamEvent = item
        const lost: number | undefined = event.video
        void [lost, item.audio]
        break
      }
      case 'unpublished':
      case 'published':
        break
    }
  }
  const next: IteratorResult<SubscriptionItem, undefined> = await subscription.next()
  if (!next.done) void next.value.kind
  const ended: IteratorReturnResult<undefined> = await subscription.return()
  void ended
  subscription.close()
  const key: StreamKey = subscription.key
  void key
  out.sendMetadata({ width: 640 })
  out.sendMetadata({ width: 640 }, 40)
  out.sendVideo(0, Buffer.from([0x17, 0, 0, 0, 0]))
  out.sendAudio(0, Buffer.from([0xaf, 0, 0x12, 0x10]))
  out.sendData(0, Buffer.from([2, 0, 0]))
  const publishing: boolean = out.isPublishing
  void publishing
  out.close()
  const streams: StreamInfo[] = server.streams()
  const kind: PeerKind = streams[0].publisher
  const counts: number = streams[0].players + streams[0].subscribers
  const codec: string | undefined = streams[0].videoCodec
  void [kind, counts, codec]
  const stats: ServerStats = server.stats()
  const playerKind: PeerKind | undefined = stats.streams[0]?.players[0]?.kind
  const publisherKind: PeerKind | undefined = stats.streams[0]?.publisherKind
  void [playerKind, publisherKind]
}
void local

// @ts-expect-error: a misspelled hook is not a ServerHandler property
const typo: ServerHandler = { onPublsh: () => true }
// @ts-expect-error: the policy is a string union
const badPolicy: ServerOptions = { publisherPolicy: 'newest' }
// @ts-expect-error: a decision is a boolean (or undefined), not a string
const badDecision: ServerHandler = { onPublish: () => 'yes' }
// A publish decision that forwards; onLocate's answers.
const forwarding: ServerHandler = {
  onPublish: (_session: Session, request: RtmpRequest): PublishAccept => ({ forward: [`rtmp://cdn/live/${request.name}`] }),
  onLocate: () => undefined,
}
// @ts-expect-error: forward is a list of URLs, not one
const badForward: ServerHandler = { onPublish: () => ({ forward: 'rtmp://cdn/live/x' }) }
// @ts-expect-error: onLocate answers URLs (strings)
const badLocate: ServerHandler = { onLocate: () => [42] }
// @ts-expect-error: a relay state is 'connecting', 'live' or 'backoff'
const badState: RelayState = 'up'
void [forwarding, badForward, badLocate, badState]
// Publishing with a user name and password; who logged in.
const auth: ServerOptions = { publishAuth: 'adobe', authMaxPending: 64, authChallengeLifetimeMs: 10000 }
const authMode: PublishAuth = 'none'
const passwords: ServerHandler = {
  onCredentials: (_app: string, user: string) => (user === 'alice' ? 's3cret' : undefined),
  onPublish: (session: Session) => session.user === 'alice',
}
const loggedIn = (session: Session): string | null => session.user
// @ts-expect-error: the auth mode is 'none' or 'adobe'
const badAuth: ServerOptions = { publishAuth: 'basic' }
// @ts-expect-error: onCredentials answers the password (a string), not a decision
const badCredentials: ServerHandler = { onCredentials: () => true }
// @ts-expect-error: session.user may be null
const notNull: string = ({} as Session).user
void [auth, authMode, passwords, loggedIn, badAuth, badCredentials, notNull]
// @ts-expect-error: start is 'gop', 'keyframe' or 'live'
const badStart: SubscribeOptions = { start: 'first' }
// @ts-expect-error: local sends are synchronous, not Promises
const notPromise: Promise<void> = new Server().publish('live/x').sendVideo(0, Buffer.alloc(0))
void [typo, badPolicy, badDecision, badStart, notPromise]
