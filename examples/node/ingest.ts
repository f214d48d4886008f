// An ingest server in TypeScript: publish tokens checked asynchronously (as against a
// database), one publisher per stream key, statistics every 10 s, and a monitor that plays each
// new stream and reports its first keyframe. Type-checked in CI with `tsc --noEmit`.
//
//   type-check:  (cd bindings/node && npx tsc -p .)
//   run:         compile it with tsc (or a TS runner), then: node ingest.js --bind 0.0.0.0:1935
import {
  Server,
  Player,
  type DisconnectReason,
  type Frame,
  type HookName,
  type RtmpRequest,
  type ServerHandler,
  type ServerStats,
  type Session,
  type StreamKey,
} from 'rtmp-rs'

const tokens = new Map<string, string>([['cam', 'SECRET']])

async function lookUpToken(stream: string): Promise<string | undefined> {
  await new Promise((resolve) => setTimeout(resolve, 5))
  return tokens.get(stream)
}

class Ingest implements ServerHandler {
  private readonly live = new Set<string>()

  constructor(private readonly address: () => string | null) {}

  async onPublish(session: Session, request: RtmpRequest): Promise<boolean> {
    const expected = await lookUpToken(request.name ?? '')
    if (expected === undefined || request.query.token !== expected) {
      throw new Error(`No valid token for ${request.app}/${request.name}.`)
    }
    console.log(`${session.peerAddr} publishes ${request.app}/${request.name}`)
    this.live.add(`${request.app}/${request.name}`)
    void this.monitor(`${request.app}/${request.name}`)
    return true
  }

  onUnpublish(_session: Session, key: StreamKey): void {
    this.live.delete(`${key.app}/${key.name}`)
    console.log(`${key.app}/${key.name} ended`)
  }

  onKeyframe(_session: Session, frame: Frame): void {
    if (frame.timestamp % 10_000 < 40) console.log(`${frame.app}/${frame.name}: keyframe at ${frame.timestamp} ms`)
  }

  onStats(stats: ServerStats): void {
    for (const stream of stats.streams) {
      const kbps = Math.round(stream.bitrateIn / 1000)
      console.log(`${stream.key.app}/${stream.key.name}: ${stream.videoCodec ?? '?'} ${kbps} kb/s, ${stream.players.length} players`)
    }
  }

  onDisconnect(session: Session, reason: DisconnectReason): void {
    if (reason.kind !== 'client-closed') console.log(`${session.peerAddr}: ${reason.message}`)
  }

  onError(error: unknown, hook: HookName): void {
    console.error(`error in ${hook}:`, error)
  }

  /** Plays the stream until its first keyframe. */
  private async monitor(path: string): Promise<void> {
    const address = this.address()
    if (address === null) return
    const player = await Player.connect(`rtmp://${address}/${path}`, { connectTimeoutMs: 5000 })
    for await (const frame of player) {
      if (frame.isKeyframe) {
        console.log(`${path}: ${frame.codec} keyframe of ${frame.payload.length} bytes`)
        break // closes the player
      }
    }
  }
}

async function main(): Promise<void> {
  const bind = process.argv[process.argv.indexOf('--bind') + 1] ?? '0.0.0.0:1935'
  let server: Server | null = null
  server = new Server(
    { bind, publisherPolicy: 'take-over', decisionTimeoutMs: 2000, statsIntervalMs: 10_000 },
    new Ingest(() => server?.address ?? null),
  )
  await server.listen()
  console.log(`listening on rtmp://${server.address}`)
  process.once('SIGINT', () => void server?.close())
}

void main()
