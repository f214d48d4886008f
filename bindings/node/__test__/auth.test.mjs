// User name and password publishing (`publishAuth: 'adobe'`, onCredentials) against ffmpeg 9 and
// our own Publisher / Player with `rtmp://user:pass@host/…`; session.user; onData with ffmpeg's
// subtitle stream (onTextData).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'node:test'

import { listen, play, publish, rtmp, runFfmpeg, sleep, waitFor } from './helpers.mjs'

const { Publisher, Player } = rtmp

const PASSWORDS = { alice: 's3cret' }

/** A server with `publishAuth: 'adobe'` whose onCredentials knows alice (answered through a
 * Promise); it records the lookups, the publish and play sessions, and what onError got. */
async function authServer(extra = {}) {
  const seen = { lookups: [], publishes: [], plays: [], errors: [] }
  const handler = {
    async onCredentials(app, user) {
      seen.lookups.push([app, user])
      return PASSWORDS[user] ?? null
    },
    onPublish(session, request) {
      seen.publishes.push({ user: session.user, name: request.name })
    },
    onPlay(session) {
      seen.plays.push(session.user)
    },
    onError(error, hook) {
      seen.errors.push({ error, hook })
    },
    ...extra,
  }
  const server = await listen({ publishAuth: 'adobe', decisionTimeoutMs: 1500 }, handler)
  server.seen = seen
  server.auth = (credentials, path) => `rtmp://${credentials}${server.address}/${path}`
  server.live = (name) => server.streams().some((s) => s.key.name === name)
  return server
}

test('ffmpeg publishes with a password, a player without one decodes it; session.user is the user', async () => {
  const server = await authServer()
  const ffmpeg = publish(server.auth('alice:s3cret@', 'live/cam'), 3)
  await waitFor(() => server.live('cam'), 10000, "ffmpeg's authenticated publish")
  const played = await play(server.url('live/cam'), { seconds: 1, limitMs: 15000 }).done
  assert.ok(played.video >= 10 && played.audio > 0, `the player decoded: ${JSON.stringify(played)}`)
  const published = await ffmpeg.done
  assert.equal(published.code, 0, published.stderr)

  const { seen } = server
  // Asked at the challenge and at the answer.
  assert.deepEqual(seen.lookups, [['live', 'alice'], ['live', 'alice']])
  assert.deepEqual(seen.publishes, [{ user: 'alice', name: 'cam' }])
  assert.deepEqual(seen.plays, [null], 'ffmpeg the player is not challenged: no user')
  assert.deepEqual(seen.errors, [])
  await server.close()
})

test('ffmpeg is refused with a wrong password, an unknown user, and when onCredentials fails', async () => {
  const never = new Promise(() => {})
  const thrown = new Error('user database down')
  const server = await authServer({
    onCredentials(app, user) {
      this.calls.push(user)
      if (user === 'thrower') throw thrown
      if (user === 'rejecter') return Promise.reject(new Error('lookup failed'))
      if (user === 'number') return 42
      if (user === 'slow') return never
      return PASSWORDS[user] ?? null
    },
    calls: [],
  })
  const refused = async (credentials) => {
    const started = Date.now()
    const run = await publish(server.auth(credentials, 'live/cam'), 2, { realtime: false }).done
    assert.notEqual(run.code, 0, `${credentials}: ffmpeg was not refused`)
    return { ...run, ms: Date.now() - started }
  }
  const runs = await Promise.all(
    ['alice:wrong@', 'bob:s3cret@', 'thrower:x@', 'rejecter:x@', 'number:x@', 'slow:x@'].map(refused),
  )
  const [wrong, unknown, ...failures] = runs
  assert.match(wrong.stderr, /Incorrect username\/password/)
  assert.match(unknown.stderr, /Incorrect username(?!\/)/)
  for (const run of failures) assert.match(run.stderr, /Incorrect username(?!\/)/, 'a failed lookup is no such user')
  for (const run of runs) assert.ok(run.ms < 8000, `refused in ${run.ms} ms`)
  assert.equal(server.seen.publishes.length, 0, 'no publish reached onPublish')
  assert.ok(!server.live('cam'))

  // Each failure reported to onError, named by its hook.
  const { errors } = server.seen
  await waitFor(() => errors.length >= 4, 5000, 'four reports')
  assert.ok(errors.every((e) => e.hook === 'onCredentials'), JSON.stringify(errors))
  assert.ok(errors.some((e) => e.error === thrown), 'the very value thrown')
  assert.ok(errors.some((e) => e.error.message === 'lookup failed'), 'the rejection')
  const invalid = errors.find((e) => e.error.code === 'ERR_RTMP_INVALID_DECISION')
  assert.ok(invalid instanceof Object && invalid.error instanceof TypeError, JSON.stringify(errors))
  assert.match(invalid.error.message, /onCredentials must return/)
  const timeout = errors.find((e) => e.error.code === 'ERR_RTMP_DECISION_TIMEOUT')
  assert.match(timeout.error.message, /onCredentials did not settle within 1500 ms; the user counts as unknown/)
  assert.equal(errors.length, 4, JSON.stringify(errors.map((e) => e.error.message)))
  await server.close()
})

// An AVC sequence header, then frames.
const avcConfig = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80])
const video = (ts, key) => Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), Buffer.from(`video ${ts}`)])

test('our Publisher and Player log in with rtmp://user:pass@…; refusals are ERR_RTMP_REJECTED naming why', async () => {
  const server = await authServer()
  const publisher = await Publisher.connect(server.auth('alice:s3cret@', 'live/cam'))
  await publisher.sendVideo(0, avcConfig)
  await publisher.sendVideo(0, video(0, true))
  const withCredentials = await Player.connect(server.auth('alice:s3cret@', 'live/cam'))
  const without = await Player.connect(server.url('live/cam'))
  const frames = async (player) => {
    let n = 0
    for await (const frame of player) if (frame.kind === 'video' && ++n === 5) break
    return n
  }
  const counting = [frames(withCredentials), frames(without)]
  for (let ts = 40; ts <= 400; ts += 40) {
    await publisher.sendVideo(ts, video(ts, false))
    await sleep(10)
  }
  assert.deepEqual(await Promise.all(counting), [5, 5])
  await publisher.close()
  assert.deepEqual(server.seen.publishes, [{ user: 'alice', name: 'cam' }])
  assert.deepEqual(server.seen.plays, ['alice', null], 'the player with credentials logged in')

  const rejection = async (connect, credentials) => {
    try {
      await connect(server.auth(credentials, 'live/cam'))
    } catch (error) {
      return error
    }
    assert.fail(`${credentials}: not refused`)
  }
  for (const [connect, credentials, reason] of [
    [Publisher.connect, 'alice:wrong@', 'authfailed'],
    [Publisher.connect, 'bob:x@', 'nosuchuser'],
    [Publisher.connect, '', 'authentication required'],
    [Player.connect, 'alice:wrong@', 'authfailed'],
  ]) {
    const error = await rejection(connect, credentials)
    assert.equal(error.code, 'ERR_RTMP_REJECTED', `${credentials}: ${error}`)
    assert.equal(error.status, 'NetConnection.Connect.Rejected', `${credentials}: ${error.status}`)
    assert.ok(error.description.startsWith(reason), `${credentials}: ${error.description}`)
    assert.ok(error.message.includes(reason), `${credentials}: ${error.message}`)
  }
  assert.equal(server.seen.publishes.length, 1, 'no refused publish reached onPublish')
  await server.close()
})

test('onData hears the onTextData messages of ffmpeg publishing a subtitle stream', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtmp-rs-node-subs-'))
  try {
    const srt = join(dir, 'subs.srt')
    writeFileSync(srt, '1\n00:00:01,000 --> 00:00:01,500\nhello\n\n2\n00:00:02,000 --> 00:00:02,500\nworld\n')
    const heard = []
    const errors = []
    const server = await listen({}, {
      onData(session, key, data) {
        heard.push({ app: session.app, user: session.user, key, data })
      },
      onError: (error, hook) => errors.push({ error, hook }),
    })
    const ffmpeg = runFfmpeg([
      '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-i', srt, '-t', '3', '-map', '0:v', '-map', '1:s',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:s', 'text',
      '-f', 'flv', server.url('live/subs'),
    ])
    const { code, stderr } = await ffmpeg.done
    assert.equal(code, 0, stderr)
    await waitFor(() => heard.length >= 2, 5000, 'two onData calls')
    await server.close()
    assert.deepEqual(errors, [])
    assert.deepEqual(heard.map((h) => h.data.name), ['onTextData', 'onTextData'])
    assert.deepEqual(heard.map((h) => h.data.values[0].text), ['hello', 'world'])
    for (const h of heard) {
      assert.deepEqual(h.key, { app: 'live', name: 'subs' })
      assert.equal(h.app, 'live')
      assert.equal(h.user, null, 'no login without publishAuth')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
