// Decisions: values, Promises, throws and rejections, timeouts, invalid answers; a slow decision
// holds up only its own connection; errors in hooks go to onError and never crash the process.
import assert from 'node:assert/strict'
import test from 'node:test'

import { listen, publish, rtmp, sleep, waitFor } from './helpers.mjs'

const { Publisher, Player } = rtmp

/** Publishes to live/NAME and returns 'accepted' or the refusal's description. */
async function tryPublish(server, name) {
  try {
    const publisher = await Publisher.connect(server.url(`live/${name}`))
    await publisher.close()
    return 'accepted'
  } catch (error) {
    assert.equal(error.code, 'ERR_RTMP_REJECTED', error.message)
    assert.equal(error.status, 'NetStream.Publish.Denied')
    return error.description
  }
}

test('decisions: values, Promises, throws and rejections', async () => {
  const server = await listen({}, {
    onPublish(session, request) {
      switch (request.name) {
        case 'true': return true
        case 'false': return false
        case 'undefined': return undefined
        case 'throw': throw new Error('Bad token.')
        case 'throw-string': throw 'plain reason' // eslint-disable-line no-throw-literal
        case 'resolve-true': return new Promise((resolve) => setTimeout(() => resolve(true), 50))
        case 'resolve-false': return Promise.resolve(false)
        case 'reject': return new Promise((_, reject) => setTimeout(() => reject(new Error('Not today.')), 50))
        case 'async-throw': return (async () => { await sleep(10); throw new RangeError('Quota exceeded.') })()
        case 'async-void': return (async () => { await sleep(10) })()
        default: return false
      }
    },
  })
  const expected = {
    true: 'accepted',
    false: 'Rejected.',
    undefined: 'accepted',
    throw: 'Bad token.',
    'throw-string': 'plain reason',
    'resolve-true': 'accepted',
    'resolve-false': 'Rejected.',
    reject: 'Not today.',
    'async-throw': 'Quota exceeded.',
    'async-void': 'accepted',
  }
  const names = Object.keys(expected)
  // All at once: answers arrive out of order and each reaches its own connection.
  const outcomes = await Promise.all(names.map((name) => tryPublish(server, name)))
  await server.close()
  assert.deepEqual(Object.fromEntries(names.map((n, i) => [n, outcomes[i]])), expected)
})

test('onConnection, onConnect and onPlay decide too', async () => {
  const server = await listen({}, {
    onConnection: (session) => session.peerAddr.startsWith('127.'),
    onConnect: (session) => {
      if (session.app !== 'live') throw new Error('No such app.')
    },
    onPlay: (session, request) => request.query.key === 'k',
  })
  await assert.rejects(Publisher.connect(server.url('other/x')), (e) => {
    assert.equal(e.code, 'ERR_RTMP_REJECTED')
    assert.equal(e.status, 'NetConnection.Connect.Rejected')
    assert.match(e.description, /No such app\./)
    return true
  })
  const publisher = await Publisher.connect(server.url('live/x'))
  await publisher.sendVideo(0, Buffer.from([0x17, 0, 0, 0, 0, 1, 2, 3]))
  await assert.rejects(Player.connect(server.url('live/x')), { code: 'ERR_RTMP_REJECTED' })
  const player = await Player.connect(server.url('live/x?key=k'))
  await player.close()
  await publisher.close()
  await server.close()

  const closed = await listen({}, { onConnection: () => false })
  await assert.rejects(Publisher.connect(closed.url('live/x'), { connectTimeoutMs: 3000 }), (e) => {
    assert.ok(['ERR_RTMP_IO', 'ERR_RTMP_CLOSED', 'ERR_RTMP_PROTOCOL'].includes(e.code), e.code)
    return true
  })
  await closed.close()
})

test('a decision that does not settle in time is a reject, reported to onError', async () => {
  const errors = []
  const server = await listen({ decisionTimeoutMs: 200 }, {
    onPublish: () => new Promise(() => {}),
    onError: (error, hook) => errors.push({ error, hook }),
  })
  const started = Date.now()
  assert.equal(await tryPublish(server, 'never'), 'Decision timeout.')
  const took = Date.now() - started
  assert.ok(took >= 190 && took < 3000, `rejected after ${took} ms`)
  await waitFor(() => errors.length === 1, 3000, 'the timeout report')
  assert.equal(errors[0].hook, 'onPublish')
  assert.equal(errors[0].error.code, 'ERR_RTMP_DECISION_TIMEOUT')
  assert.match(errors[0].error.message, /did not settle within 200 ms/)
  await server.close()
})

test('an answer that is not a decision rejects and is reported', async () => {
  const errors = []
  const server = await listen({}, {
    onPublish: (session, request) => (request.name === 'num' ? 42 : Promise.resolve('yes')),
    onError: (error, hook) => errors.push({ error, hook }),
  })
  assert.equal(await tryPublish(server, 'num'), 'Invalid decision.')
  assert.equal(await tryPublish(server, 'str'), 'Invalid decision.')
  await waitFor(() => errors.length === 2, 3000, 'two reports')
  for (const { error, hook } of errors) {
    assert.equal(hook, 'onPublish')
    assert.ok(error instanceof TypeError)
    assert.equal(error.code, 'ERR_RTMP_INVALID_DECISION')
  }
  await server.close()
})

test('onPlay gives a player its own latency budget; a budget that is not one rejects', async () => {
  const errors = []
  const budgets = { cam: 500, archive: null, bad: -1 }
  const server = await listen({}, {
    onPlay: (session, request) => ({ latencyBudgetMs: budgets[request.name] }),
    onError: (error, hook) => errors.push({ error, hook }),
  })
  const publishers = []
  for (const name of Object.keys(budgets)) publishers.push(await rtmp.Publisher.connect(server.url(`live/${name}`)))
  for (const name of ['cam', 'archive']) {
    const player = await rtmp.Player.connect(server.url(`live/${name}`))
    await player.close()
  }
  await assert.rejects(rtmp.Player.connect(server.url('live/bad')), { code: 'ERR_RTMP_REJECTED' })
  await waitFor(() => errors.length === 1, 3000, 'the report')
  assert.equal(errors[0].error.code, 'ERR_RTMP_INVALID_DECISION')
  for (const publisher of publishers) await publisher.close()
  await server.close()
})

test('onPublish forwards with { forward: urls }; a forward that is not a list of RTMP(S) URLs rejects', async () => {
  const errors = []
  const answers = {
    none: { forward: [] },
    string: { forward: 'rtmp://127.0.0.1:1/live/x' },
    number: { forward: [42] },
    scheme: { forward: ['udp://127.0.0.1/live/x'] },
    null: { forward: null },
  }
  const server = await listen({}, {
    onPublish: (session, request) => Promise.resolve(answers[request.name]),
    onError: (error, hook) => errors.push({ error, hook }),
  })
  const outcomes = {}
  for (const name of Object.keys(answers)) outcomes[name] = await tryPublish(server, name)
  assert.deepEqual(outcomes, {
    none: 'accepted',
    string: 'Invalid decision.',
    number: 'Invalid decision.',
    scheme: 'Invalid decision.',
    null: 'Invalid decision.',
  })
  await waitFor(() => errors.length === 4, 3000, 'four reports')
  for (const { error, hook } of errors) {
    assert.equal(hook, 'onPublish')
    assert.equal(error.code, 'ERR_RTMP_INVALID_DECISION')
  }
  assert.match(errors[2].error.message, /udp:\/\/127\.0\.0\.1/)
  await server.close()
})

test('a slow decision does not block other connections', async () => {
  let releaseSlow
  const slowGate = new Promise((resolve) => (releaseSlow = resolve))
  const server = await listen({}, {
    onPublish: (session, request) => (request.name === 'slow' ? slowGate : true),
  })
  const slow = Publisher.connect(server.url('live/slow'))
  await sleep(100)
  // While 'slow' waits for its decision, ten other connections connect, publish and play.
  const started = Date.now()
  for (let i = 0; i < 5; i++) {
    const publisher = await Publisher.connect(server.url(`live/fast${i}`))
    await publisher.sendVideo(0, Buffer.from([0x17, 0, 0, 0, 0, 9]))
    const player = await Player.connect(server.url(`live/fast${i}`))
    await player.close()
    await publisher.close()
  }
  const took = Date.now() - started
  assert.ok(took < 3000, `the other connections took ${took} ms`)
  releaseSlow(true)
  const publisher = await slow
  await publisher.close()
  await server.close()
})

test('errors in notification hooks go to onError with what was thrown; the server goes on', async () => {
  const errors = []
  const thrown = new TypeError('handshake hook bug')
  const server = await listen({}, {
    onHandshakeComplete() {
      throw thrown
    },
    async onDisconnect() {
      throw new Error('async hook bug')
    },
    onVideoFrame() {
      throw 'a string' // eslint-disable-line no-throw-literal
    },
    onError: (error, hook) => errors.push({ error, hook }),
  })
  const publisher = await Publisher.connect(server.url('live/cam'))
  await publisher.sendVideo(0, Buffer.from([0x17, 1, 0, 0, 0, 1, 2]))
  await publisher.close()
  await waitFor(() => errors.some((e) => e.hook === 'onDisconnect'), 3000, 'the onDisconnect report')
  const again = await Publisher.connect(server.url('live/cam'))
  await again.close()
  await server.close()
  const handshake = errors.find((e) => e.hook === 'onHandshakeComplete')
  assert.equal(handshake.error, thrown, 'onError receives the very value thrown')
  assert.equal(errors.find((e) => e.hook === 'onDisconnect').error.message, 'async hook bug')
  assert.equal(errors.find((e) => e.hook === 'onVideoFrame').error, 'a string')
  assert.equal(errors.filter((e) => e.hook === 'onHandshakeComplete').length, 2)
})

test('onMediaTag may answer with a Promise; a slow one lets the message pass', async () => {
  const errors = []
  const server = await listen({ mediaTagTimeoutMs: 100 }, {
    onMediaTag: async (session, frame) => {
      if (frame.timestamp === 40) return new Promise(() => {}) // never settles
      await sleep(1)
      return frame.timestamp !== 80
    },
    onError: (error, hook) => errors.push({ error, hook }),
  })
  const publisher = await Publisher.connect(server.url('live/cam'))
  const player = await Player.connect(server.url('live/cam'))
  for (const ts of [0, 40, 80, 120]) await publisher.sendVideo(ts, Buffer.from([ts === 0 ? 0x17 : 0x27, 1, 0, 0, 0, ts]))
  const seen = []
  for await (const frame of player) {
    if (frame.kind !== 'video') continue // |RtmpSampleAccess comes first
    seen.push(frame.timestamp)
    if (frame.timestamp === 120) break
  }
  await publisher.close()
  await server.close()
  assert.deepEqual(seen, [0, 40, 120])
  assert.equal(errors.length, 1)
  assert.equal(errors[0].hook, 'onMediaTag')
  assert.equal(errors[0].error.code, 'ERR_RTMP_DECISION_TIMEOUT')
})

test('ffmpeg sees the refusal reason', async () => {
  const server = await listen({}, {
    onPublish: (session, request) => {
      if (request.query.token !== 's3cret') throw new Error('Bad publish token.')
    },
  })
  const { code, stderr } = await publish(server.url('live/cam?token=wrong'), 1).done
  await server.close()
  assert.notEqual(code, 0)
  assert.match(stderr, /Bad publish token\./)
})
