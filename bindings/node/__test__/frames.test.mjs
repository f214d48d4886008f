// Media frames: the payload a hook sees is a Buffer over the library's memory (no copy), the same
// memory in every hook that sees the message, and it stays valid as long as JS holds it.
import assert from 'node:assert/strict'
import test from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

import { listen, publish, rtmp, waitFor } from './helpers.mjs'

const { bufferAddress } = rtmp
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')

test('hook frames are Buffers over the library memory, shared by every hook', async () => {
  const byHook = { onMediaTag: new Map(), onVideoFrame: new Map(), onKeyframe: new Map() }
  const kept = []
  const remember = (hook) => (session, frame) => {
    if (frame.kind !== 'video') return true
    const payload = frame.payload
    assert.ok(Buffer.isBuffer(payload))
    assert.equal(bufferAddress(payload), frame.payloadAddress(), `${hook}: no copy`)
    assert.equal(bufferAddress(frame.payload), bufferAddress(payload), 'every read, the same memory')
    if (!frame.isSequenceHeader) {
      assert.equal(payload[0] & 0x0f, 7, 'AVC')
      assert.equal(bufferAddress(frame.body), frame.payloadAddress() + 5n, 'body: a view 5 bytes in')
      assert.equal(frame.body.length, payload.length - 5)
    }
    byHook[hook].set(frame.timestamp, frame.payloadAddress())
    if (hook === 'onKeyframe') kept.push({ payload, copy: Buffer.from(payload) })
    return true
  }
  const server = await listen({}, {
    onMediaTag: remember('onMediaTag'),
    onVideoFrame: remember('onVideoFrame'),
    onKeyframe: remember('onKeyframe'),
  })
  const { code, stderr } = await publish(server.url('live/cam'), 2, { size: '320x240' }).done
  assert.equal(code, 0, stderr)
  await server.close()

  assert.ok(byHook.onKeyframe.size >= 2)
  for (const [ts, address] of byHook.onKeyframe) {
    assert.equal(byHook.onVideoFrame.get(ts), address, `keyframe ${ts}: the same message in onVideoFrame`)
    assert.equal(byHook.onMediaTag.get(ts), address, `keyframe ${ts}: the same message in onMediaTag`)
  }
  // The Buffers outlive their frames, the hooks and the server.
  gc()
  await new Promise((resolve) => setTimeout(resolve, 50))
  gc()
  for (const { payload, copy } of kept) assert.ok(payload.equals(copy))
  assert.ok(kept[0].payload.length > 1000, 'a real keyframe')
})

test('player frames are Buffers over the library memory too', async () => {
  const server = await listen()
  const ffmpeg = publish(server.url('live/cam'), 2)
  await waitFor(() => server.stats().streams.some((s) => s.videoCodec), 10000, 'the stream')
  const player = await rtmp.Player.connect(server.url('live/cam'))
  let checked = 0
  for await (const frame of player) {
    assert.equal(bufferAddress(frame.payload), frame.payloadAddress())
    if (++checked === 20) break
  }
  await ffmpeg.done
  await server.close()
})

test('data frames decode', async () => {
  let text = null
  const server = await listen({}, {
    onMediaTag(session, frame) {
      if (frame.kind === 'data') text = frame.data
      return true
    },
  })
  const publisher = await rtmp.Publisher.connect(server.url('live/data'))
  // onTextData("hello") as AMF0: string marker 2, length, bytes.
  const amfString = (s) => Buffer.concat([Buffer.from([2, 0, s.length]), Buffer.from(s)])
  await publisher.sendData(10, Buffer.concat([amfString('onTextData'), amfString('hello')]))
  await waitFor(() => text, 3000, 'the data message')
  assert.deepEqual(text, { name: 'onTextData', values: ['hello'] })
  await publisher.close()
  await server.close()
})

test('a JS thread that cannot keep up loses frame events, not memory, and is told so', async () => {
  const errors = []
  let frames = 0
  let blocked = false
  const server = await listen({ maxPendingFrames: 1000 }, {
    onVideoFrame() {
      frames++
      if (!blocked) {
        blocked = true
        // A JS thread busy elsewhere, until the publisher has sent everything.
        const until = Date.now() + 20000
        while (Date.now() < until && server.stats().streams.length > 0);
      }
    },
    onAudioFrame() {},
    onError: (error, hook) => errors.push({ error, hook }),
  })
  // 2 min of media as fast as ffmpeg encodes: 3000 video and 5200 audio frames, more than the
  // 1000 frame events that may wait for JS.
  const { code, stderr } = await publish(server.url('live/fast'), 120, { realtime: false }).done
  assert.equal(code, 0, stderr)
  const droppedEvents = server.droppedEvents
  await server.close()
  assert.ok(droppedEvents > 1000, `${droppedEvents} frame events dropped`)
  const dropped = errors.filter((e) => e.error.code === 'ERR_RTMP_EVENTS_DROPPED')
  assert.ok(dropped.length >= 1, JSON.stringify(errors.map((e) => e.error.message)))
  assert.ok(frames > 100 && frames < 3000, `${frames} of 3000 video frames reached JS`)
})
