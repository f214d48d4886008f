// Relays against nginx-rtmp (a server no one here wrote) and the real ffmpeg: onPublish routes a
// stream to nginx with `{ forward }`, addForward / removeForward at runtime, onForward and the
// stream's `forwards` statistics; onLocate names the upstreams of a pull (failover from a dead
// one), onPull and the stream's `pull` statistics; a locate hook that fails pulls nothing.
import assert from 'node:assert/strict'
import test from 'node:test'

import { freePort, listen, play, publish, rtmp, sleep, startNginx, waitFor } from './helpers.mjs'

const { Player, Publisher } = rtmp

function streamOf(server, name) {
  return server.stats().streams.find((s) => s.key.app === 'live' && s.key.name === name)
}

function forwardOf(server, name, url) {
  return streamOf(server, name)?.forwards.find((f) => f.url === url)
}

/** Resolves once `url` delivers a video frame (an RTMP player of ours reading it). */
async function videoArrives(url, ms = 20000) {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      const player = await Player.connect(url)
      try {
        for (;;) {
          const left = deadline - Date.now()
          if (left <= 0) break
          let timer
          const timeout = new Promise((resolve) => (timer = setTimeout(resolve, left)))
          const event = await Promise.race([player.read(), timeout]).finally(() => clearTimeout(timer))
          if (!event) break
          if (event.type === 'frame' && event.frame.kind === 'video') return
        }
      } finally {
        await player.close()
      }
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
    if (Date.now() > deadline) throw new Error(`no video from ${url} within ${ms} ms`)
    await sleep(200)
  }
}

/** Plays `url` with our player: 'not-found' for NetStream.Play.StreamNotFound (status or refusal),
 * 'media' if audio or video arrives, else what ended it. */
async function playOutcome(url) {
  let player
  try {
    player = await Player.connect(url)
    for (;;) {
      const event = await player.read()
      if (!event) return 'closed'
      if (event.type === 'frame' && ['audio', 'video'].includes(event.frame.kind)) return 'media'
      if (event.type === 'status' && /StreamNotFound/.test(event.code)) return 'not-found'
    }
  } catch (error) {
    return /StreamNotFound/.test(`${error.status} ${error.message}`) ? 'not-found' : `${error.code}: ${error.message}`
  } finally {
    await player?.close()
  }
}

test('forward: onPublish routes a stream to nginx; addForward / removeForward at runtime', async (t) => {
  const nginx = await startNginx()
  const events = []
  const errors = []
  const server = await listen({}, {
    onPublish(_session, request) {
      if (request.name === 'bad-url') return { forward: ['http://127.0.0.1/live/x'] }
      if (request.name === 'bad-shape') return { forward: nginx.url('x') }
      return { forward: [nginx.url(`${request.name}-copy`)] }
    },
    onForward(key, forward) {
      events.push({ key: `${key.app}/${key.name}`, url: forward.url, state: forward.state })
    },
    onError(error, hook) {
      errors.push({ hook, code: error.code, message: error.message })
    },
  })

  // Malformed destinations are invalid decisions: the publish is refused, onError is told.
  for (const name of ['bad-url', 'bad-shape']) {
    await assert.rejects(Publisher.connect(server.url(`live/${name}`)), { code: 'ERR_RTMP_REJECTED' })
  }
  await waitFor(() => errors.length >= 2, 10000, 'the invalid decisions reported')
  assert.deepEqual(errors.map((e) => [e.hook, e.code]), [
    ['onPublish', 'ERR_RTMP_INVALID_DECISION'],
    ['onPublish', 'ERR_RTMP_INVALID_DECISION'],
  ])
  assert.match(errors[0].message, /http:\/\/127\.0\.0\.1\/live\/x/)

  const ffmpeg = publish(server.url('live/cam'), 30, { size: '320x240' })
  try {
    const copy = nginx.url('cam-copy')
    await waitFor(() => forwardOf(server, 'cam', copy)?.state === 'live', 30000, 'the forward live')

    // Runtime additions: each error has its own code.
    const extra = nginx.url('cam-extra')
    assert.throws(() => server.addForward('live/cam', copy), { code: 'ERR_RTMP_DUPLICATE' })
    assert.throws(() => server.addForward('live/nobody', extra), { code: 'ERR_RTMP_NOT_FOUND' })
    assert.throws(() => server.addForward('live/cam', 'http://127.0.0.1/live/y'), { code: 'ERR_RTMP_BAD_URL' })
    assert.throws(() => server.addForward('cam', extra), { code: 'ERR_RTMP_INVALID_ARGUMENT', name: 'TypeError' })
    server.addForward('live/cam', extra)
    await waitFor(() => forwardOf(server, 'cam', extra)?.state === 'live', 30000, 'the added forward live')

    // Players of nginx decode what we forwarded there.
    const [copied, added] = await Promise.all([
      play(copy, { seconds: 3, limitMs: 40000 }).done,
      play(extra, { seconds: 3, limitMs: 40000 }).done,
    ])
    t.diagnostic(`decoded from nginx: cam-copy ${copied.video} video / ${copied.audio} audio frames, cam-extra ${added.video} / ${added.audio}`)
    assert.ok(copied.video >= 40 && copied.hasAudio, `decoded from nginx live/cam-copy: ${JSON.stringify(copied)}`)
    assert.ok(added.video >= 40 && added.hasAudio, `decoded from nginx live/cam-extra: ${JSON.stringify(added)}`)

    const stream = streamOf(server, 'cam')
    for (const url of [copy, extra]) {
      const forward = stream.forwards.find((f) => f.url === url)
      assert.equal(forward.state, 'live', JSON.stringify(forward))
      assert.ok(forward.bytesOut > 0, JSON.stringify(forward))
      assert.equal(typeof forward.reconnects, 'number')
      assert.equal(typeof forward.droppedVideo, 'number')
    }
    assert.equal(stream.forwards.length, 2)
    t.diagnostic(`forwards: ${JSON.stringify(stream.forwards)}`)
    assert.equal(stream.players.filter((p) => p.kind === 'forward').length, 2, JSON.stringify(stream.players))
    assert.equal(stream.pull, undefined)
    assert.equal(server.streams().find((s) => s.key.name === 'cam').forwards, 2)

    // Removed at runtime: gone from the statistics; a second removal finds nothing.
    assert.equal(server.removeForward('live/cam', extra), true)
    await waitFor(() => !forwardOf(server, 'cam', extra), 10000, 'the removed forward gone')
    assert.equal(server.removeForward('live/cam', extra), false)
    assert.equal(server.removeForward('live/nobody', extra), false)
    assert.throws(() => server.removeForward('nokey', extra), { code: 'ERR_RTMP_INVALID_ARGUMENT' })
    assert.equal(streamOf(server, 'cam').forwards.length, 1)

    // onForward saw each forward connect, then go live.
    for (const url of [copy, extra]) {
      const states = events.filter((e) => e.url === url).map((e) => e.state)
      assert.ok(events.filter((e) => e.url === url).every((e) => e.key === 'live/cam'))
      assert.equal(states[0], 'connecting', `${url}: ${states}`)
      assert.ok(states.indexOf('live') > 0, `${url}: ${states}`)
    }
  } finally {
    ffmpeg.kill('SIGKILL')
  }
  await server.close()
  assert.throws(() => server.addForward('live/cam', nginx.url('late')), { code: 'ERR_RTMP_STATE' })
  assert.equal(server.removeForward('live/cam', nginx.url('late')), false)
  nginx.kill()
})

test('pull: onLocate fails over from a dead upstream to nginx; ffmpeg plays the pulled stream', async (t) => {
  const nginx = await startNginx()
  const dead = `rtmp://127.0.0.1:${await freePort()}/live/remote`
  const ffmpeg = publish(nginx.url('remote'), 30, { size: '320x240' })
  try {
    await videoArrives(nginx.url('remote'))
    const located = []
    const pulls = []
    const server = await listen({ pull: [nginx.url('remote')], pullIdleTimeoutMs: 5000 }, {
      async onLocate(key) {
        located.push(`${key.app}/${key.name}`)
        await sleep(10)
        // null: the `pull` rules (here every stream comes from nginx's live/remote).
        return key.name === 'remote' ? [dead, nginx.url(key.name)] : null
      },
      onPull(key, pull) {
        pulls.push({ key: `${key.app}/${key.name}`, url: pull.url, state: pull.state, lastError: pull.lastError })
      },
    })
    const player = play(server.url('live/remote'), { seconds: 3, limitMs: 40000 })
    const ruled = videoArrives(server.url('live/ruled'))
    // Checked while the player plays (the pull stops pullIdleTimeoutMs after it leaves).
    const stream = await waitFor(() => {
      const s = streamOf(server, 'remote')
      return s?.pull?.state === 'live' && s.pull.bytesIn > 0 && s
    }, 30000, 'the pull live, with bytes')
    t.diagnostic(`pull: ${JSON.stringify(stream.pull)}`)
    assert.equal(stream.publisherKind, 'pull')
    assert.equal(stream.pull.url, nginx.url('remote'))
    assert.ok(stream.pull.reconnects >= 1, `the dead upstream counted: ${JSON.stringify(stream.pull)}`)
    assert.equal(typeof stream.pull.lastError, 'string')
    assert.deepEqual(stream.forwards, [])
    assert.equal(server.streams().find((s) => s.key.name === 'remote')?.publisher, 'pull')
    await ruled
    const decoded = await player.done
    t.diagnostic(`decoded through the pull: ${decoded.video} video / ${decoded.audio} audio frames`)
    assert.ok(decoded.video >= 40 && decoded.hasAudio, `decoded through the pull: ${JSON.stringify(decoded)}`)

    assert.deepEqual(located.sort(), ['live/remote', 'live/ruled'])
    const remote = pulls.filter((p) => p.key === 'live/remote')
    assert.ok(remote.some((p) => p.url === dead && p.state === 'connecting'), JSON.stringify(remote))
    assert.ok(remote.some((p) => p.url === nginx.url('remote') && p.state === 'live'), JSON.stringify(remote))
    const ruledPulls = pulls.filter((p) => p.key === 'live/ruled')
    assert.ok(ruledPulls.some((p) => p.url === nginx.url('remote') && p.state === 'live'), JSON.stringify(ruledPulls))
    await server.close()
  } finally {
    ffmpeg.kill('SIGKILL')
    nginx.kill()
  }
})

test('pull: an onLocate that throws, rejects or answers nonsense pulls nothing; the player gets StreamNotFound', async () => {
  const errors = []
  const pulls = []
  const server = await listen({ playWaitTimeoutMs: 1500, decisionTimeoutMs: 1000 }, {
    onLocate(key) {
      switch (key.name) {
        case 'throw': throw new Error('locator down')
        case 'reject': return new Promise((_, reject) => setTimeout(() => reject(new Error('locator rejected')), 20))
        case 'string': return 'rtmp://127.0.0.1:1/live/x'
        case 'bad-url': return ['http://127.0.0.1/live/x']
        case 'never': return new Promise(() => {})
        default: return []
      }
    },
    onPull(key, pull) {
      pulls.push({ key, pull })
    },
    onError(error, hook) {
      errors.push({ hook, code: error.code, message: error.message })
    },
  })
  const names = ['throw', 'reject', 'string', 'bad-url', 'never', 'empty']
  const outcomes = await Promise.all(names.map((name) => playOutcome(server.url(`live/${name}`))))
  assert.deepEqual(Object.fromEntries(names.map((n, i) => [n, outcomes[i]])),
    Object.fromEntries(names.map((n) => [n, 'not-found'])))
  await waitFor(() => errors.length >= 5, 10000, 'the locate failures reported')
  await server.close()
  const byMessage = (pattern) => errors.find((e) => pattern.test(e.message))
  assert.ok(errors.every((e) => e.hook === 'onLocate'), JSON.stringify(errors))
  assert.ok(byMessage(/locator down/), JSON.stringify(errors))
  assert.ok(byMessage(/locator rejected/), JSON.stringify(errors))
  assert.equal(byMessage(/array of upstream URLs/)?.code, 'ERR_RTMP_INVALID_DECISION', JSON.stringify(errors))
  assert.equal(byMessage(/http:\/\/127\.0\.0\.1/)?.code, 'ERR_RTMP_INVALID_DECISION', JSON.stringify(errors))
  assert.equal(byMessage(/did not settle/)?.code, 'ERR_RTMP_DECISION_TIMEOUT', JSON.stringify(errors))
  assert.equal(errors.length, 5, JSON.stringify(errors))
  assert.deepEqual(pulls, [])
})
