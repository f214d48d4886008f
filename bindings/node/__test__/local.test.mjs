// Streams in-process (issue 21): server.subscribe() (an async iterator of frames and stream
// events), server.publish() (a LocalPublisher whose sends never wait), server.streams() and the
// local players in stats, against the real ffmpeg as publisher and player.
import assert from 'node:assert/strict'
import test from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

import { listen, play, publish, rtmp, sleep, waitFor } from './helpers.mjs'

const { Server, Player, Subscription, LocalPublisher, bufferAddress } = rtmp
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')

// An AVC sequence header, then frames; an AAC AudioSpecificConfig, then a raw frame.
const avcConfig = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80])
const aacConfig = Buffer.from([0xaf, 0, 0x12, 0x10])
const video = (ts, key) => Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), Buffer.from(`video ${ts}`)])
const audio = (ts) => Buffer.concat([Buffer.from([0xaf, 1]), Buffer.from(`audio ${ts}`)])
const isMedia = (item) => item.kind === 'video' || item.kind === 'audio'

/** Hooks that count what publishers sent (every message that parsed) and their unpublishes. */
function counting() {
  const sent = { video: 0, audio: 0, unpublished: 0 }
  const hooks = {
    onVideoFrame: () => void sent.video++,
    onAudioFrame: () => void sent.audio++,
    onUnpublish: () => void sent.unpublished++,
  }
  return { sent, hooks }
}

/** Reads `subscription` until `stop(item)` or its end; returns the items (closes it). */
async function collect(subscription, stop = () => false) {
  const items = []
  for await (const item of subscription) {
    items.push(item)
    if (stop(item, items)) break
  }
  return items
}

/** The next `n` items of `subscription` (it stays open). */
async function take(subscription, n) {
  const items = []
  while (items.length < n) {
    const { value, done } = await subscription.next()
    assert.equal(done, false)
    items.push(value)
  }
  return items
}

/** The first video items of a subscription: its sequence header and the next two frames. */
async function firstVideo(subscription) {
  const items = await collect(subscription, (_, items) => items.filter((i) => i.kind === 'video').length >= 3)
  return { items, video: items.filter((i) => i.kind === 'video') }
}

const within = (got, want, share) => Math.abs(got - want) <= want * share

test('a subscription gets every frame ffmpeg sent; gop, keyframe and live starts', async () => {
  const { sent, hooks } = counting()
  const server = await listen({}, hooks)
  // Subscribed before the publish: it waits for it and gets the stream from its first message.
  const whole = server.subscribe('live/cam', { waitMs: 60000 })
  const ffmpeg = publish(server.url('live/cam'), 6)
  const sub = await whole
  assert.ok(sub instanceof Subscription)
  assert.deepEqual(sub.key, { app: 'live', name: 'cam' })
  const reading = collect(sub, (item) => item.kind === 'unpublished')

  // 2.5 s in (mid-GOP: a keyframe a second), the three starts at once.
  await waitFor(() => sent.video >= 62, 30000, '62 video frames')
  const starts = await Promise.all(['gop', 'keyframe', 'live'].map((start) => server.subscribe('live/cam', { start })))
  const [gop, keyframe, live] = await Promise.all(starts.map(firstVideo))

  for (const [name, { items, video }] of Object.entries({ gop, keyframe, live })) {
    assert.equal(items[0].kind, 'metadata', `${name}: metadata first`)
    assert.ok(video[0].isSequenceHeader, `${name}: the AVC sequence header first`)
    const firstAudio = items.find((i) => i.kind === 'audio')
    if (firstAudio) assert.ok(firstAudio.isSequenceHeader, `${name}: the AAC config first`)
  }
  assert.ok(gop.video[1].isKeyframe && keyframe.video[1].isKeyframe)
  assert.ok(
    gop.video[1].timestamp < keyframe.video[1].timestamp,
    `gop starts at the cached keyframe (${gop.video[1].timestamp}), keyframe at the next (${keyframe.video[1].timestamp})`,
  )
  assert.ok(!keyframe.video[2].isKeyframe, 'then live')
  // live: whatever came next, inter frames included (never before the cached GOP, never after the next keyframe).
  assert.ok(live.video[1].timestamp > gop.video[1].timestamp && live.video[1].timestamp <= keyframe.video[1].timestamp)
  assert.equal(server.streams()[0].subscribers, 1, 'firstVideo closed its subscriptions; `whole` remains')

  const published = await ffmpeg.done
  assert.equal(published.code, 0, published.stderr)
  const items = await reading
  await waitFor(() => sent.unpublished === 1, 10000, 'onUnpublish (after every media hook)')
  const got = {
    video: items.filter((i) => i.kind === 'video').length,
    audio: items.filter((i) => i.kind === 'audio').length,
  }
  assert.ok(sent.video >= 150 && sent.audio >= 250, `ffmpeg sent ${JSON.stringify(sent)}`)
  assert.ok(within(got.video, sent.video, 0.02) && within(got.audio, sent.audio, 0.02), `got ${JSON.stringify(got)} of ${JSON.stringify(sent)}`)
  assert.equal(items.at(-1).kind, 'unpublished')
  assert.ok(!items.some((i) => i.kind === 'dropped'), 'a reader that keeps up loses nothing')
  const frames = items.filter(isMedia)
  assert.ok(frames.every((f) => f.app === 'live' && f.name === 'cam'))
  for (const frame of frames.slice(0, 50)) assert.equal(bufferAddress(frame.payload), frame.payloadAddress(), 'no copy')
  const codecs = new Set(frames.filter((f) => !f.isSequenceHeader).map((f) => f.codec))
  assert.deepEqual([...codecs].sort(), ['avc1', 'mp4a'])
  await server.close()
})

test('a local publisher re-publishing a subscription decodes in ffmpeg players, a late one too (GOP cache)', async () => {
  let relayedVideo = 0
  let atPlay = []
  const server = await listen({}, { onPlay: () => void atPlay.push(relayedVideo) })
  const source = publish(server.url('live/cam'), 10)
  const sub = await server.subscribe('live/cam', { waitMs: 60000 })
  const out = server.publish('live/copy')
  assert.ok(out instanceof LocalPublisher)
  assert.equal(out.isPublishing, true)
  assert.deepEqual(out.key, { app: 'live', name: 'copy' })
  const early = play(server.url('live/copy'))
  let late = null
  let lastKey = 0
  let sendingPast = null
  for await (const item of sub) {
    if (item.kind === 'unpublished') break
    if (item.kind === 'dropped') assert.fail(`the relay fell behind: ${JSON.stringify(item)}`)
    if (!('payload' in item)) continue
    out.sendFrame(item)
    if (item.kind !== 'video' || item.isSequenceHeader) continue
    if (item.isKeyframe) lastKey = relayedVideo
    relayedVideo++
    // 4 s in, 10 frames into a GOP: a player that joins now starts at the cached keyframe.
    if (!late && relayedVideo >= 100 && relayedVideo - lastKey === 10) {
      late = play(server.url('live/copy'))
      sendingPast = relayedVideo
    }
  }
  out.close()
  assert.equal(out.isPublishing, false)
  assert.equal((await source.done).code, 0)
  const [first, second] = await Promise.all([early.done, late.done])
  assert.ok(relayedVideo >= 240, `${relayedVideo} video frames relayed`)
  assert.equal(atPlay.length, 2)
  assert.ok(first.hasVideo && first.hasAudio && first.video >= 0.9 * relayedVideo, `early player decoded ${first.video} of ${relayedVideo}: ${first.stderr}`)
  const afterJoin = relayedVideo - atPlay[1]
  assert.ok(second.video >= 0.9 * afterJoin, `late player decoded ${second.video}, ${afterJoin} relayed after it joined`)
  // Frames from before its play request: the GOP cache (it joined `sendingPast - lastKey` frames into a GOP).
  assert.ok(second.video > afterJoin, `late player decoded ${second.video}: the cached GOP too (joined after frame ${atPlay[1]}, ${sendingPast})`)
  assert.ok(second.audio > 0)
  await server.close()
})

test('a subscriber that reads nothing for 5 s loses video, not audio; an ffmpeg player misses nothing', async () => {
  const { sent, hooks } = counting()
  let plays = 0
  // The default queue (512 messages). The network player may fall 10 s behind (a loaded machine
  // must not make it lose frames); the subscriber 2 s, its own budget.
  const server = await listen({ playerLatencyBudgetMs: 10000 }, { ...hooks, onPlay: () => void plays++ })
  const player = play(server.url('live/cam')) // waits for the publish (playWaitTimeoutMs)
  const subscribing = server.subscribe('live/cam', { waitMs: 60000, latencyBudgetMs: 2000 })
  await waitFor(() => plays === 1 && server.stats().streams[0]?.players.length >= 1, 20000, 'the player and the subscriber')
  await sleep(500)
  const ffmpeg = publish(server.url('live/cam'), 12)
  const sub = await subscribing
  let item
  do item = (await sub.next()).value
  while (!(item.kind === 'video' && item.isKeyframe))
  const stalledAt = item.timestamp

  await sleep(5000) // reads nothing
  const stream = server.stats().streams.find((s) => s.key.name === 'cam')
  assert.equal(stream.publisherKind, 'rtmp')
  const local = stream.players.find((p) => p.kind === 'local')
  const remote = stream.players.find((p) => p.kind === 'rtmp')
  assert.ok(local && remote, JSON.stringify(stream.players))
  assert.equal(local.peerAddr, '0.0.0.0:0')
  assert.ok(local.droppedVideo > 0, `dropped video ${local.droppedVideo}`)
  assert.equal(local.droppedAudio, 0)
  assert.equal(remote.droppedVideo + remote.droppedAudio, 0)

  // Reading again: first how much was lost, then what was kept; audio has no gap.
  const dropped = (await sub.next()).value
  assert.equal(dropped.kind, 'dropped')
  assert.ok(dropped.video > 0 && dropped.audio === 0, JSON.stringify(dropped))
  const rest = await collect(sub, (i) => i.kind === 'unpublished')
  assert.equal(rest.at(-1).kind, 'unpublished')
  const audioTs = rest.filter((i) => i.kind === 'audio' && !i.isSequenceHeader).map((i) => i.timestamp)
  assert.ok(audioTs[0] <= stalledAt + 100, `audio resumes where the reader stopped (${audioTs[0]} ms, stalled at ${stalledAt} ms)`)
  const gaps = audioTs.slice(1).map((ts, i) => ts - audioTs[i])
  assert.ok(Math.max(...gaps) <= 50, `audio gaps up to ${Math.max(...gaps)} ms`)
  // Video: lost from where the reader stopped, resuming at a keyframe.
  const videoAfter = rest.filter((i) => i.kind === 'video')
  const shown = () => `${JSON.stringify(dropped)}; stalled at ${stalledAt}, then ${videoAfter.slice(0, 30).map((f) => `${f.timestamp}${f.isKeyframe ? 'K' : ''}`).join(' ')}`
  const ts = [stalledAt, ...videoAfter.map((f) => f.timestamp)]
  let resumed = 1
  for (let i = 2; i < ts.length; i++) if (ts[i] - ts[i - 1] > ts[resumed] - ts[resumed - 1]) resumed = i
  assert.ok(ts[resumed] - ts[resumed - 1] >= 1000, `seconds of video lost: ${shown()}`)
  assert.ok(videoAfter[resumed - 1].isKeyframe, `video resumes at a keyframe: ${shown()}`)

  assert.equal((await ffmpeg.done).code, 0)
  const played = await player.done
  await waitFor(() => sent.unpublished === 1, 10000, 'onUnpublish')
  // The network player decoded every picture (every video message but the sequence header).
  assert.ok(played.video >= 0.98 * (sent.video - 1), `the ffmpeg player decoded ${played.video} of ${sent.video - 1} pictures`)
  assert.ok(played.audio >= 0.98 * (sent.audio - 1), `and ${played.audio} of ${sent.audio - 1} audio frames`)
  await server.close()
})

test('take-over between an ffmpeg publisher and a local one, both ways', async () => {
  const server = await listen({ publisherPolicy: 'take-over' })
  const stream = (name) => server.streams().find((s) => s.key.name === name)

  // RTMP first: a local publisher takes the stream, ffmpeg is disconnected.
  const ffmpeg = publish(server.url('live/cam'), 30)
  const started = Date.now()
  await waitFor(() => stream('cam')?.videoCodec, 30000, 'the ffmpeg stream')
  const sub = await server.subscribe('live/cam', { start: 'live' })
  const local = server.publish('live/cam')
  assert.equal(stream('cam').publisher, 'local')
  const kicked = await ffmpeg.done
  assert.ok(Date.now() - started < 25000, `ffmpeg ran ${Date.now() - started} ms of its 30 s`)
  assert.notEqual(kicked.code, 0, 'ffmpeg was disconnected')
  local.sendVideo(0, avcConfig)
  local.sendVideo(0, video(0, true))
  const items = await collect(sub, (i) => i.kind === 'video' && i.payload.equals(video(0, true)))
  assert.ok(items.some((i) => i.kind === 'published'), `the subscriber saw the new publisher: ${items.map((i) => i.kind)}`)
  assert.equal(local.isPublishing, true)

  // Local first: an ffmpeg publisher takes the stream; the local publisher's next send fails.
  const mine = server.publish('live/other')
  mine.sendVideo(0, avcConfig)
  const second = publish(server.url('live/other'), 2)
  await waitFor(() => stream('other')?.publisher === 'rtmp', 30000, 'ffmpeg to take live/other')
  assert.equal(mine.isPublishing, false)
  assert.throws(() => mine.sendVideo(40, video(40, true)), { code: 'ERR_RTMP_CLOSED', message: /took the stream over/ })
  assert.equal((await second.done).code, 0, 'ffmpeg published to the end')
  mine.close()
  local.close()
  await server.close()
})

test('reject-new: a local publisher and an ffmpeg publisher of a live stream are refused', async () => {
  const server = await listen() // publisherPolicy 'reject-new'
  const ffmpeg = publish(server.url('live/cam'), 30)
  await waitFor(() => server.streams().length === 1, 30000, 'the ffmpeg stream')
  assert.throws(() => server.publish('live/cam'), { code: 'ERR_RTMP_REJECTED', message: /already published/ })
  ffmpeg.kill('SIGKILL')
  await ffmpeg.done

  const local = server.publish('live/mine')
  local.sendVideo(0, avcConfig)
  const refused = await publish(server.url('live/mine'), 2).done
  assert.notEqual(refused.code, 0, 'ffmpeg was refused')
  assert.equal(local.isPublishing, true)
  local.sendVideo(0, video(0, true))
  local.close()
  await server.close()
})

test('server.streams() lists publisher kinds and counts; stats show local players', async () => {
  const server = await listen({ publisherPolicy: 'reject-new' })
  assert.deepEqual(server.streams(), [])
  const ffmpeg = publish(server.url('live/cam'), 30)
  await waitFor(() => server.streams()[0]?.audioCodec, 30000, 'the ffmpeg stream')
  const player = await Player.connect(server.url('live/cam'))
  const camSub = await server.subscribe('live/cam')

  // ffmpeg's decoder configurations, published again by a local publisher.
  const headers = (await take(camSub, 6)).filter((i) => i.isSequenceHeader)
  assert.equal(headers.length, 2)
  const local = server.publish('live/local')
  local.sendMetadata({ width: 640, height: 360 })
  for (const header of headers) local.sendFrame(header)
  local.sendVideo(0, video(0, true))
  const subs = await Promise.all([server.subscribe('live/local'), server.subscribe('live/local', { start: 'live' })])

  const streams = server.streams().sort((a, b) => a.key.name.localeCompare(b.key.name))
  assert.equal(streams.length, 2)
  const [cam, mine] = streams
  assert.deepEqual(cam.key, { app: 'live', name: 'cam' })
  assert.equal(cam.publisher, 'rtmp')
  assert.match(cam.videoCodec, /^avc1\./)
  assert.match(cam.audioCodec, /^mp4a\./)
  assert.equal(cam.players, 1)
  assert.equal(cam.subscribers, 1)
  assert.deepEqual(mine, {
    key: { app: 'live', name: 'local' },
    publisher: 'local',
    videoCodec: cam.videoCodec,
    audioCodec: cam.audioCodec,
    players: 0,
    subscribers: 2,
    forwards: 0,
  })

  const stats = server.stats().streams.sort((a, b) => a.key.name.localeCompare(b.key.name))
  assert.equal(stats[0].publisherKind, 'rtmp')
  assert.deepEqual(stats[0].players.map((p) => p.kind).sort(), ['local', 'rtmp'])
  assert.equal(stats[1].publisherKind, 'local')
  assert.equal(stats[1].publisher, '0.0.0.0:0')
  assert.deepEqual(stats[1].players.map((p) => p.kind), ['local', 'local'])

  for (const sub of subs) sub.close()
  local.close()
  camSub.close()
  assert.equal(server.streams().length, 1)
  assert.equal(server.streams()[0].subscribers, 0)
  await player.close()
  ffmpeg.kill('SIGKILL')
  await ffmpeg.done
  await waitFor(() => server.streams().length === 0, 10000, 'no stream left')
  await server.close()
  assert.deepEqual(server.streams(), [], 'none when not listening')
})

test('the iterator: close() and return() end it, a waiting next() resolves as done, items in call order', async () => {
  const server = await listen()
  const out = server.publish('live/it')
  out.sendVideo(0, avcConfig)
  const sub = await server.subscribe('live/it', { start: 'live' })
  assert.equal(typeof sub[Symbol.asyncIterator], 'function')
  assert.equal(sub[Symbol.asyncIterator](), sub)
  assert.equal(Object.getOwnPropertyDescriptor(sub, Symbol.asyncIterator).enumerable, false)
  const header = await sub.next()
  assert.equal(header.done, false)
  assert.ok(header.value.isSequenceHeader)

  // Concurrent next() calls get the items in call order, whether queued or not yet sent.
  const calls = Array.from({ length: 6 }, () => sub.next())
  for (let ts = 40; ts <= 240; ts += 40) out.sendVideo(ts, video(ts, ts === 40))
  const results = await Promise.all(calls)
  assert.deepEqual(results.map((r) => r.value.timestamp), [40, 80, 120, 160, 200, 240])
  for (let ts = 280; ts <= 480; ts += 40) out.sendVideo(ts, video(ts, false))
  const queued = await Promise.all(Array.from({ length: 6 }, () => sub.next()))
  assert.deepEqual(queued.map((r) => r.value.timestamp), [280, 320, 360, 400, 440, 480])

  // The JS thread runs while a next() waits; close() resolves it as done.
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  const waiting = sub.next()
  await sleep(300)
  clearInterval(timer)
  assert.ok(ticks >= 5, `${ticks} timer ticks while next() waited`)
  sub.close()
  assert.deepEqual(await waiting, { value: undefined, done: true })
  assert.deepEqual(await sub.next(), { value: undefined, done: true }, 'done after close')
  sub.close() // idempotent
  let ran = false
  for await (const _ of sub) ran = true
  assert.equal(ran, false, 'iterating a closed subscription ends at once')

  // break (return()) closes; so does return() called directly.
  const another = await server.subscribe('live/it')
  for await (const item of another) if (item.kind === 'video') break
  assert.equal(server.streams()[0].subscribers, 0, 'break left the stream')
  assert.deepEqual(await another.next(), { value: undefined, done: true })
  const third = await server.subscribe('live/it')
  assert.deepEqual(await third.return(), { value: undefined, done: true })
  assert.deepEqual(await third.next(), { value: undefined, done: true })
  out.close()
  await server.close()
})

test('unpublished and published events follow the publisher; server.close() ends loops, waits and local publishers', async () => {
  const server = await listen()
  const subscribing = server.subscribe('live/re', { waitMs: 60000 })
  await waitFor(() => server.stats().streams.length === 1, 5000, 'the waiting subscriber')
  const first = server.publish('live/re')
  first.sendVideo(0, avcConfig)
  first.sendVideo(0, video(0, true))
  const reading = collect(await subscribing)
  first.close()
  const second = server.publish('live/re')
  second.sendVideo(0, avcConfig)
  second.sendVideo(0, video(1, true))
  second.close()
  const waitingSubscribe = server.subscribe('live/nobody', { waitMs: Infinity })
  const outcome = waitingSubscribe.then(() => 'subscribed', (e) => e)
  await waitFor(() => server.stats().streams.length === 2, 5000, 'the waiting subscriber')
  const live = server.publish('live/on')
  live.sendVideo(0, avcConfig)
  await server.close() // ends the loop and the wait, and closes local publishers
  assert.equal(live.isPublishing, false)
  assert.throws(() => live.sendVideo(40, video(40, true)), { code: 'ERR_RTMP_CLOSED', message: /closed/ })
  const items = await reading
  const shape = items.map((i) => (i.kind === 'video' ? `video ${i.isSequenceHeader ? 'header' : i.payload.toString('latin1', 5)}` : i.kind))
  assert.deepEqual(shape, [
    'video header', 'video video 0', 'unpublished', 'published', 'video header', 'video video 1', 'unpublished',
  ])
  const failed = await outcome
  assert.equal(failed.code, 'ERR_RTMP_CLOSED')
})

test('sendFrame re-publishes without a copy: the payload of a subscriber of the copy is the same memory', async () => {
  const server = await listen()
  const source = server.publish('live/src')
  source.sendVideo(0, avcConfig)
  const fromSource = await server.subscribe('live/src', { start: 'live' })
  const copy = server.publish('live/copy')
  const fromCopy = await server.subscribe('live/copy', { start: 'live' })
  source.sendVideo(0, video(0, true))
  source.sendAudio(0, aacConfig)
  source.sendAudio(20, audio(20))
  source.sendData(30, Buffer.concat([Buffer.from([2, 0, 10]), Buffer.from('onTextData'), Buffer.from([2, 0, 2]), Buffer.from('hi')]))
  const relayed = await collect(fromSource, (_, items) => items.length === 5)
  for (const frame of relayed) copy.sendFrame(frame)
  const media = await take(fromCopy, 5)
  assert.deepEqual(media.map((f) => [f.kind, f.timestamp]), relayed.map((f) => [f.kind, f.timestamp]))
  for (let i = 0; i < media.length; i++) {
    assert.equal(media[i].payloadAddress(), relayed[i].payloadAddress(), `${media[i].kind} ${media[i].timestamp}: the same memory`)
    assert.equal(bufferAddress(media[i].payload), media[i].payloadAddress())
  }
  assert.deepEqual(media.at(-1).data, { name: 'onTextData', values: ['hi'] })
  assert.equal(media[0].app, 'live')
  assert.equal(media[0].name, 'copy')
  // sendMetadata: an object, at the latest timestamp sent by default.
  copy.sendMetadata({ title: 'copy', width: 320 })
  const [metadata] = await take(fromCopy, 1)
  assert.deepEqual(metadata.metadata, { title: 'copy', width: 320 })
  assert.equal(metadata.timestamp, 30)
  source.close()
  copy.close()
  await server.close()
})

test('misuse: closed publishers, bad keys, bad payloads and options are coded errors; nothing leaks', async () => {
  const stopped = new Server({ bind: '127.0.0.1:0' })
  assert.throws(() => stopped.publish('live/x'), { code: 'ERR_RTMP_STATE' })
  await assert.rejects(stopped.subscribe('live/x'), { code: 'ERR_RTMP_STATE' })

  const server = await listen()
  for (const key of ['nokey', '/cam', 'live/', '']) {
    assert.throws(() => server.publish(key), (e) => e instanceof TypeError && e.code === 'ERR_RTMP_INVALID_ARGUMENT' && /app\/name/.test(e.message))
    await assert.rejects(server.subscribe(key), { code: 'ERR_RTMP_INVALID_ARGUMENT' })
  }
  await assert.rejects(server.subscribe('live/none'), { code: 'ERR_RTMP_NOT_FOUND', message: /not published/ })
  const started = Date.now()
  await assert.rejects(server.subscribe('live/none', { waitMs: 300 }), { code: 'ERR_RTMP_NOT_FOUND' })
  assert.ok(Date.now() - started >= 250)
  await assert.rejects(server.subscribe('live/none', { start: 'first' }), { code: 'ERR_RTMP_INVALID_OPTION' })
  await assert.rejects(server.subscribe('live/none', { waitMs: -1 }), { code: 'ERR_RTMP_INVALID_OPTION' })
  await assert.rejects(server.subscribe('live/none', { latencyBudgetMs: 0 }), { code: 'ERR_RTMP_INVALID_OPTION' })

  const out = server.publish('live/bad')
  const invalid = { code: 'ERR_RTMP_INVALID_ARGUMENT' }
  assert.throws(() => out.sendVideo(0, Buffer.alloc(0)), { ...invalid, message: /not a valid FLV video tag body/ })
  assert.throws(() => out.sendVideo(0, Buffer.from([0x17, 1])), invalid)
  assert.throws(() => out.sendAudio(0, Buffer.from([0xaf])), { ...invalid, message: /audio/ })
  assert.throws(() => out.sendData(0, Buffer.from([9, 9, 9])), { ...invalid, message: /AMF0/ })
  assert.throws(() => out.sendVideo(0, 'not a buffer'), { ...invalid, message: /Buffer/ })
  assert.throws(() => out.sendVideo(-1, avcConfig), { ...invalid, message: /timestamp/ })
  assert.throws(() => out.sendMetadata('nope'), { ...invalid, message: /object/ })
  out.sendVideo(5000, avcConfig)
  assert.throws(() => out.sendVideo(3000, video(3000, true)), { ...invalid, message: /goes back/ })
  assert.equal(out.isPublishing, true, 'bad input leaves the publisher publishing')
  out.close()
  out.close() // idempotent
  assert.equal(out.isPublishing, false)
  for (const send of [() => out.sendVideo(6000, video(6000, true)), () => out.sendMetadata({ a: 1 })]) {
    assert.throws(send, { code: 'ERR_RTMP_CLOSED', message: /closed/ })
  }

  // Subscriptions and publishers left to the garbage collector leave their streams.
  for (let i = 0; i < 200; i++) {
    const p = server.publish(`live/gc${i % 4}`)
    p.sendVideo(0, avcConfig)
    await server.subscribe(`live/gc${i % 4}`)
    p.close()
  }
  server.publish('live/dropped').sendVideo(0, avcConfig)
  await server.subscribe('live/dropped')
  const dropped = server.stats().streams.find((s) => s.key.name === 'dropped')
  assert.equal(dropped.publisherKind, 'local')
  assert.equal(dropped.players.length, 1)
  for (let i = 0; i < 20 && server.stats().streams.length > 0; i++) {
    gc()
    await sleep(50)
  }
  assert.deepEqual(server.stats().streams, [], 'collected publishers and subscriptions left their streams')
  await server.close()
})
