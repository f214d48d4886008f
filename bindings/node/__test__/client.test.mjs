// Player and Publisher: a byte-exact round trip, the event stream, relaying frames without a
// copy, FLV files, RTMPS, and the error codes.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'node:test'

import { here, listen, makeFlv, rtmp, sleep, waitFor } from './helpers.mjs'

const { Publisher, Player, bufferAddress } = rtmp

// An AVC sequence header, then NAL unit frames; an AAC AudioSpecificConfig, then raw frames.
const avcConfig = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80])
const aacConfig = Buffer.from([0xaf, 0, 0x12, 0x10])
const video = (ts, key) => Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), Buffer.from(`video ${ts}`)])
const audio = (ts) => Buffer.concat([Buffer.from([0xaf, 1]), Buffer.from(`audio ${ts}`)])

test('Publisher to Player round trip: every byte, in order, without copies on the way out', async () => {
  const server = await listen()
  const publisher = await Publisher.connect(server.url('live/rt'))
  await publisher.sendMetadata({ width: 640, height: 360, title: 'round trip', stereo: true, nested: { a: 1 }, list: [1, 'b'] })
  await publisher.sendVideo(0, avcConfig)
  await publisher.sendAudio(0, aacConfig)
  await publisher.sendVideo(0, video(0, true))
  const player = await Player.connect(server.url('live/rt'))

  const sent = []
  for (let ts = 40; ts <= 400; ts += 40) {
    const v = video(ts, ts % 200 === 0)
    const a = audio(ts)
    await publisher.sendVideo(ts, v)
    await publisher.sendAudio(ts, a)
    sent.push(['video', ts, v], ['audio', ts, a])
  }
  const events = []
  const received = []
  let metadata = null
  while (received.length < sent.length) {
    const event = await player.read()
    assert.ok(event, 'the connection is open')
    events.push(event.type)
    if (event.type !== 'frame') continue
    const { frame } = event
    assert.equal(bufferAddress(frame.payload), frame.payloadAddress(), 'payload Buffer over the library memory')
    if (frame.kind === 'metadata') metadata = frame
    if (frame.timestamp >= 40 && (frame.kind === 'video' || frame.kind === 'audio')) {
      received.push([frame.kind, frame.timestamp, Buffer.from(frame.payload)])
    }
  }
  assert.deepEqual(received, sent)
  assert.deepEqual(metadata.metadata, { width: 640, height: 360, title: 'round trip', stereo: true, nested: { a: 1 }, list: [1, 'b'] })
  assert.equal(metadata.data.name, 'onMetaData')

  // The publisher stops: the player hears of it.
  await publisher.close()
  let event
  do event = await player.read()
  while (event && event.type !== 'streamEnd')
  assert.equal(event?.type, 'streamEnd')
  await player.close()
  // What was queued can still be read; then the player reports its end.
  for (let i = 0; i < 10 && event; i++) event = await player.read()
  assert.equal(event, null, 'null after close')
  await server.close()
})

test('for await over a Player ends when the publisher stops', async () => {
  const server = await listen()
  const publisher = await Publisher.connect(server.url('live/end'))
  await publisher.sendVideo(0, avcConfig)
  await publisher.sendVideo(0, video(0, true))
  const player = await Player.connect(server.url('live/end'))
  setTimeout(() => publisher.close(), 100)
  let frames = 0
  for await (const frame of player) frames += frame.kind === 'video' ? 1 : 0
  assert.equal(frames, 2)
  await player.close()
  await server.close()
})

test('a relay: frames a Player received go out again without a copy', async () => {
  const server = await listen()
  const source = await Publisher.connect(server.url('live/src'))
  await source.sendVideo(0, avcConfig)
  await source.sendVideo(0, video(0, true))
  const player = await Player.connect(server.url('live/src'))
  const relay = await Publisher.connect(server.url('live/copy'))
  const copyPlayer = await Player.connect(server.url('live/copy'))
  for (let ts = 40; ts <= 200; ts += 40) await source.sendVideo(ts, video(ts, false))

  for await (const frame of player) {
    await relay.sendFrame(frame)
    if (frame.timestamp === 200) break
  }
  const copied = []
  for await (const frame of copyPlayer) {
    if (frame.kind !== 'video') continue
    copied.push(Buffer.from(frame.payload).toString('latin1'))
    if (frame.timestamp === 200) break
  }
  assert.deepEqual(copied.slice(-5), [40, 80, 120, 160, 200].map((ts) => video(ts, false).toString('latin1')))
  await Promise.all([source.close(), relay.close(), copyPlayer.close()])
  await server.close()
})

test('publishFlv sends a file at real-time pace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtmp-rs-'))
  try {
    const file = join(dir, 'in.flv')
    await makeFlv(file, 1)
    let keyframes = 0
    const server = await listen({}, { onKeyframe: () => keyframes++ })
    const publisher = await Publisher.connect(server.url('live/file'))
    const started = Date.now()
    const tags = await publisher.publishFlv(file)
    assert.ok(Date.now() - started > 700, 'paced')
    assert.ok(tags > 50, `${tags} tags`)
    await publisher.close()
    await waitFor(() => keyframes >= 1, 3000, 'a keyframe')
    await server.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('RTMPS: a certificate the client trusts, an untrusted one, and skipping the check', async () => {
  const fixtures = join(here, 'fixtures')
  const server = await listen({
    tls: { bind: '127.0.0.1:0', certFile: join(fixtures, 'cert.pem'), keyFile: join(fixtures, 'key.pem') },
  })
  assert.ok(server.tlsPort > 0)
  assert.notEqual(server.tlsPort, server.port)
  const secure = (path) => `rtmps://localhost:${server.tlsPort}/${path}`
  const publisher = await Publisher.connect(secure('live/tls'), { tls: { caFile: join(fixtures, 'ca.pem') } })
  await publisher.sendVideo(0, avcConfig)
  await publisher.sendVideo(0, video(0, true))
  const player = await Player.connect(`rtmps://127.0.0.1:${server.tlsPort}/live/tls`, { tls: { insecureSkipVerify: true } })
  for await (const frame of player) if (frame.isKeyframe) break
  await assert.rejects(Player.connect(secure('live/tls')), { code: 'ERR_RTMP_TLS' })
  await publisher.close()
  await server.close()
})

test('client errors carry stable codes', async () => {
  await assert.rejects(Player.connect('http://127.0.0.1/live/x'), { code: 'ERR_RTMP_BAD_URL' })
  const server = await listen()
  const url = server.url('live/x')
  await server.close()
  await assert.rejects(Publisher.connect(url, { connectTimeoutMs: 2000 }), { code: 'ERR_RTMP_IO' })

  const slow = await listen({}, { onConnect: () => new Promise(() => {}) })
  await assert.rejects(Player.connect(slow.url('live/x'), { connectTimeoutMs: 200 }), { code: 'ERR_RTMP_TIMEOUT' })
  await slow.close()

  const strict = await listen({}, { onPublish: () => false })
  await assert.rejects(Publisher.connect(strict.url('live/x')), (e) => {
    assert.equal(e.code, 'ERR_RTMP_REJECTED')
    assert.equal(e.status, 'NetStream.Publish.Denied')
    assert.equal(e.description, 'Rejected.')
    return true
  })
  await strict.close()
  await assert.rejects(Publisher.connect('rtmp://127.0.0.1:1/live/x', { connectTimeoutMs: -1 }), {
    code: 'ERR_RTMP_INVALID_OPTION',
  })
})

test('readCoalescingMs: a publisher is read in bursts, every frame delivered', async () => {
  const bursts = async (options) => {
    const at = []
    const server = await listen(options, { onVideoFrame: () => { at.push(performance.now()) } })
    const publisher = await Publisher.connect(server.url('live/merged'))
    const started = performance.now()
    for (let i = 0; i < 30; i++) { // 1.2 s of 25 fps
      await publisher.sendVideo(i * 40, video(i * 40, false))
      await sleep(Math.max(0, started + (i + 1) * 40 - performance.now()))
    }
    await waitFor(() => at.length >= 30, 3000)
    await publisher.close()
    await server.close()
    return [at.length, 1 + at.slice(1).filter((t, i) => t - at[i] > 20).length]
  }
  const [plainFrames, plain] = await bursts({})
  assert.ok(plainFrames === 30 && plain >= 15, `${plainFrames} frames in ${plain} bursts`)
  const [mergedFrames, merged] = await bursts({ readCoalescingMs: 200 }) // 5 frames a read
  assert.ok(mergedFrames === 30 && merged <= 9, `${mergedFrames} frames in ${merged} bursts`)
})
