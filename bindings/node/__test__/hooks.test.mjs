// Every hook fires with the real ffmpeg publishing, in order per connection, with `this` bound
// to the handler; the handler is checked when the server is built.
import assert from 'node:assert/strict'
import test from 'node:test'

import { listen, publish, rtmp, waitFor } from './helpers.mjs'

const HOOKS = [
  'onConnection', 'onHandshakeComplete', 'onConnect', 'onFcPublish', 'onPublish', 'onUnpublish',
  'onPlay', 'onPlayStop', 'onPause', 'onUnpause', 'onMetadata', 'onMediaTag', 'onVideoFrame',
  'onAudioFrame', 'onKeyframe', 'onDisconnect', 'onStats',
]

test('every hook fires, in order per connection', async () => {
  const calls = []
  const errors = []
  const count = (hook) => calls.filter((c) => c.hook === hook).length
  const handler = {}
  for (const hook of HOOKS) {
    handler[hook] = (...args) => {
      calls.push({ hook, args })
      if (hook === 'onConnect') return Promise.resolve(true)
      if (hook === 'onPublish') return new Promise((resolve) => setTimeout(() => resolve(true), 20))
      if (hook === 'onConnection' || hook === 'onPlay' || hook === 'onMediaTag') return true
      return undefined
    }
  }
  handler.onError = (error, hook) => errors.push({ error, hook })
  const server = await listen({ statsIntervalMs: 200 }, handler)
  const ffmpeg = publish(server.url('live/cam?token=x'), 4)
  await waitFor(() => count('onKeyframe') >= 1, 15000, 'a keyframe')

  const player = await rtmp.Player.connect(server.url('live/cam'))
  let frames = 0
  for await (const frame of player) {
    assert.ok(frame instanceof rtmp.Frame)
    if (++frames === 10) break // closes the player
  }
  await waitFor(() => count('onPlayStop') === 1, 5000, 'onPlayStop')

  const pausing = await rtmp.Player.connect(server.url('live/cam'))
  await pausing.pause(true)
  await waitFor(() => count('onPause') === 1, 5000, 'onPause')
  await pausing.pause(false)
  await waitFor(() => count('onUnpause') === 1, 5000, 'onUnpause')
  await pausing.close()

  const { code, stderr } = await ffmpeg.done
  assert.equal(code, 0, stderr)
  await waitFor(() => count('onUnpublish') === 1, 5000, 'onUnpublish')
  await waitFor(() => count('onStats') >= 2, 5000, 'onStats')
  await server.close()
  const settled = calls.length
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(calls.length, settled, 'no hook runs after close() resolved')

  for (const hook of HOOKS) assert.ok(count(hook) > 0, `${hook} fired`)
  assert.deepEqual(errors, [])

  // The publisher's connection, in the order the server raised its events.
  const publishCall = calls.find((c) => c.hook === 'onPublish')
  const [session, request] = publishCall.args
  assert.equal(session.app, 'live')
  assert.match(session.peerAddr, /^127\.0\.0\.1:\d+$/)
  assert.match(session.flashVer, /^FMLE/)
  assert.equal(request.kind, 'publish')
  assert.equal(request.app, 'live')
  assert.equal(request.name, 'cam')
  assert.equal(request.streamName, 'cam?token=x')
  assert.deepEqual(request.query, { token: 'x' })
  assert.equal(request.publishType, 'live')
  const mine = calls.filter((c) => c.args[0]?.id === session.id).map((c) => c.hook)
  const first = (hook) => mine.indexOf(hook)
  const order = ['onHandshakeComplete', 'onConnect', 'onFcPublish', 'onPublish', 'onMetadata', 'onKeyframe',
    'onUnpublish', 'onDisconnect']
  for (let i = 1; i < order.length; i++) {
    assert.ok(first(order[i - 1]) < first(order[i]), `${order[i - 1]} before ${order[i]}: ${mine.join(' ')}`)
  }
  assert.equal(mine.at(-1), 'onDisconnect')
  assert.ok(first('onMediaTag') < first('onVideoFrame'))

  // The argument shapes.
  const [connSession, connRequest] = calls.find((c) => c.hook === 'onConnection').args
  assert.equal(connSession.id, 0)
  assert.equal(connRequest.kind, 'connection')
  const metadata = calls.find((c) => c.hook === 'onMetadata').args[1]
  assert.equal(metadata.kind, 'metadata')
  assert.equal(metadata.metadata.width, 160)
  assert.equal(metadata.metadata.height, 120)
  const keyframe = calls.find((c) => c.hook === 'onKeyframe').args[1]
  assert.equal(keyframe.kind, 'video')
  assert.equal(keyframe.isKeyframe, true)
  assert.equal(keyframe.codec, 'avc1')
  assert.equal(`${keyframe.app}/${keyframe.name}`, 'live/cam')
  const audio = calls.find((c) => c.hook === 'onAudioFrame').args[1]
  assert.equal(audio.codec, 'mp4a')
  assert.deepEqual(calls.find((c) => c.hook === 'onFcPublish').args[1], { name: 'cam', raw: 'cam?token=x', query: { token: 'x' } })
  assert.deepEqual(calls.find((c) => c.hook === 'onUnpublish').args[1], { app: 'live', name: 'cam' })
  assert.deepEqual(calls.find((c) => c.hook === 'onPause').args[1], { app: 'live', name: 'cam' })
  const play = calls.find((c) => c.hook === 'onPlay').args[1]
  assert.equal(play.kind, 'play')
  assert.equal(play.name, 'cam')
  assert.equal(typeof play.start, 'number')
  const reasons = calls.filter((c) => c.hook === 'onDisconnect').map((c) => c.args[1])
  for (const reason of reasons) {
    assert.ok(['client-closed', 'shutdown'].includes(reason.kind), JSON.stringify(reason))
    assert.equal(typeof reason.message, 'string')
  }
  const stats = calls.filter((c) => c.hook === 'onStats').map((c) => c.args[0])
  const live = stats.find((s) => s.streams.length > 0)
  assert.ok(live, 'a stats snapshot with the stream')
  assert.deepEqual(live.streams[0].key, { app: 'live', name: 'cam' })
  assert.ok(live.totalConnections >= 1)
})

test('a killed publisher is interrupted, and a republish within the grace resumes', async () => {
  const calls = []
  const handler = {
    onPublishInterrupted: (session, key) => calls.push({ hook: 'interrupted', session, key }),
    onPublishResumed: async (session, key, outageMs) => calls.push({ hook: 'resumed', session, key, outageMs }),
    onUnpublish: (session) => calls.push({ hook: 'unpublish', session }),
  }
  const server = await listen({ publisherReconnectGraceMs: 10000 }, handler)
  const first = publish(server.url('live/cam'), 20)
  await waitFor(() => server.stats().streams.some((s) => s.videoCodec), 15000, 'the stream')
  first.kill('SIGKILL') // no unpublish: a network failure as the server sees it
  await waitFor(() => calls.some((c) => c.hook === 'interrupted'), 5000, 'onPublishInterrupted')
  const held = server.stats().streams[0]
  assert.deepEqual([held.publisher, held.interruptions, held.resumptions], [undefined, 1, 0])
  const second = publish(server.url('live/cam'), 1)
  await waitFor(() => calls.some((c) => c.hook === 'resumed'), 10000, 'onPublishResumed')
  const stats = server.stats().streams[0]
  assert.deepEqual([stats.interruptions, stats.resumptions], [1, 1])
  assert.equal((await second.done).code, 0)
  const [interrupted, unpublished] = calls.filter((c) => c.hook !== 'resumed')
  const resumed = calls.find((c) => c.hook === 'resumed')
  assert.equal(interrupted.hook, 'interrupted')
  assert.equal(unpublished.session.id, interrupted.session.id, 'its onUnpublish follows')
  assert.deepEqual(resumed.key, { app: 'live', name: 'cam' })
  assert.notEqual(resumed.session.id, interrupted.session.id)
  assert.ok(resumed.outageMs > 0 && resumed.outageMs < 10000, String(resumed.outageMs))
})

test('hooks are bound to the handler object (class methods work)', async () => {
  class Handler {
    constructor() {
      this.connects = 0
      this.allowed = new Set(['ok'])
    }
    onConnect() {
      this.connects++
    }
    onPublish(session, request) {
      return this.allowed.has(request.name)
    }
  }
  const handler = new Handler()
  const server = await listen({}, handler)
  const publisher = await rtmp.Publisher.connect(server.url('live/ok'))
  await publisher.close()
  await assert.rejects(rtmp.Publisher.connect(server.url('live/no')), { code: 'ERR_RTMP_REJECTED' })
  await server.close()
  assert.equal(handler.connects, 2)
})

test('onMediaTag returning false drops messages before players see them', async () => {
  let dropped = 0
  const server = await listen({}, {
    onMediaTag(session, frame) {
      if (frame.kind === 'audio') {
        dropped++
        return false
      }
      return true
    },
  })
  const ffmpeg = publish(server.url('live/cam'), 3)
  await waitFor(() => server.stats().streams.length === 1, 10000, 'the stream')
  const player = await rtmp.Player.connect(server.url('live/cam'))
  const kinds = { video: 0, audio: 0 }
  for await (const frame of player) {
    if (frame.kind in kinds) kinds[frame.kind]++
    if (kinds.video >= 25) break
  }
  await ffmpeg.done
  await server.close()
  assert.equal(kinds.audio, 0)
  assert.ok(kinds.video >= 25)
  assert.ok(dropped > 20)
})

test('a handler is checked: unknown on* names and non-functions are TypeErrors', () => {
  assert.throws(() => new rtmp.Server({}, { onPublsh() {} }), (e) => {
    assert.ok(e instanceof TypeError)
    assert.equal(e.code, 'ERR_RTMP_INVALID_OPTION')
    assert.match(e.message, /unknown hook onPublsh/)
    return true
  })
  assert.throws(() => new rtmp.Server({}, { onPublish: 'yes' }), { code: 'ERR_RTMP_INVALID_OPTION' })
  // Other properties and undefined hooks are fine.
  new rtmp.Server({}, { tokens: new Map(), onPublish: undefined })
})
