// Lifecycle: listen/close 50 times without leaks, states and addresses, options, stats, logs,
// and that nothing keeps Node alive after close().
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'

import { here, listen, rtmp, runNode, sleep, waitFor } from './helpers.mjs'

const { Server, Publisher, Player } = rtmp
const fds = () => readdirSync('/proc/self/fd').length
const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1])
const rssMiB = () => process.memoryUsage().rss / 2 ** 20
const child = (mode, options) => runNode([join(here, 'child.cjs'), mode], options)

test('listen/close 50 times (one server, then 50 servers) without leaks', async () => {
  const counts = { connect: 0, publish: 0, disconnect: 0 }
  const handler = {
    onConnect: () => void counts.connect++,
    onPublish: async () => void counts.publish++,
    onDisconnect: () => void counts.disconnect++,
  }
  const frame = Buffer.from([0x17, 1, 0, 0, 0, 1, 2, 3])
  const cycle = async (server) => {
    await server.listen()
    const publisher = await Publisher.connect(`rtmp://${server.address}/live/cam`)
    await publisher.sendVideo(0, frame)
    await publisher.close()
    await server.close()
    assert.equal(server.listening, false)
  }
  const reused = new Server({ bind: '127.0.0.1:0' }, handler)
  for (let i = 0; i < 10; i++) await cycle(reused)
  const before = { fds: fds(), threads: threads(), rss: rssMiB() }
  for (let i = 0; i < 50; i++) await cycle(reused)
  for (let i = 0; i < 50; i++) await cycle(new Server({ bind: '127.0.0.1:0' }, handler))
  await sleep(100)
  const after = { fds: fds(), threads: threads(), rss: rssMiB() }
  console.log('leak check', JSON.stringify({ before, after }))
  assert.deepEqual(counts, { connect: 110, publish: 110, disconnect: 110 })
  assert.ok(after.fds <= before.fds + 2, `file descriptors ${before.fds} -> ${after.fds}`)
  assert.ok(after.threads <= before.threads + 4, `threads ${before.threads} -> ${after.threads}`)
  assert.ok(after.rss - before.rss < 40, `RSS ${before.rss.toFixed(1)} -> ${after.rss.toFixed(1)} MiB`)
})

test('states, addresses and ports', async () => {
  const server = new Server({ bind: '127.0.0.1:0' })
  assert.equal(server.listening, false)
  assert.equal(server.address, null)
  assert.equal(server.port, null)
  assert.equal(server.tlsPort, null)
  assert.equal(server.stats().connections, 0)
  await server.close() // not listening: nothing to do
  await server.listen()
  assert.equal(server.listening, true)
  assert.match(server.address, /^127\.0\.0\.1:\d+$/)
  assert.equal(server.address, `127.0.0.1:${server.port}`)
  await assert.rejects(server.listen(), { code: 'ERR_RTMP_STATE' })
  const taken = new Server({ bind: server.address })
  await assert.rejects(taken.listen(), { code: 'ERR_RTMP_IO' })
  const port = server.port
  const closing = server.close()
  await assert.rejects(server.listen(), { code: 'ERR_RTMP_STATE' })
  await closing
  // The same port again, at once.
  const again = new Server({ bind: `127.0.0.1:${port}` })
  await again.listen()
  assert.equal(again.port, port)
  await Promise.all([again.close(), again.close()])
})

test('close() called from inside a hook does not deadlock', async () => {
  let closing = null
  const server = await listen({}, {
    onPublish() {
      closing = server.close()
      return true
    },
    onMediaTag: () => true,
  })
  const publisher = Publisher.connect(server.url('live/cam')).catch((error) => error)
  await waitFor(() => closing !== null, 3000, 'the hook')
  await closing
  assert.equal(server.listening, false)
  // Either the accept or the shutdown wins the race; either way the publisher hears an answer.
  const outcome = await publisher
  if (outcome instanceof Error) assert.match(outcome.description, /Server shutting down/)
  else await outcome.close()
})

test('every option is accepted; bad ones are TypeErrors', async () => {
  const server = new Server({
    bind: 'localhost:0',
    maxConnections: 5,
    chunkSize: 8192,
    connectionTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    windowAckSize: 1_000_000,
    peerBandwidth: 1_000_000,
    maxMessageSize: 1 << 20,
    maxChunkStreams: 16,
    maxStreamsPerConnection: 4,
    maxAmfDepth: 16,
    maxAmfEntries: 1024,
    maxAmfDecodedBytes: 1 << 20,
    playerQueueLength: 128,
    playerStallTimeoutMs: 5000,
    socketSendBuffer: 1 << 16,
    gopCacheMaxBytes: 1 << 20,
    gopCacheMaxDurationMs: 4000,
    publisherPolicy: 'take-over',
    playWaitTimeoutMs: Infinity,
    normalizeTimestamps: true,
    enhancedRtmp: false,
    fourccList: ['avc1', 'mp4a'],
    capsEx: 0,
    statsIntervalMs: 0,
    writeCoalescingMs: 50,
    readCoalescingMs: 50,
    workerThreads: 1,
    decisionTimeoutMs: 1000,
    mediaTagTimeoutMs: 100,
  })
  await server.listen()
  const publisher = await Publisher.connect(`rtmp://${server.address}/live/cam`)
  await publisher.close()
  await server.close()

  const bad = [
    { maxConnections: -1 },
    { chunkSize: 1.5 },
    { chunkSize: 64 },
    { chunkSize: 0 },
    { idleTimeoutMs: -5 },
    { playWaitTimeoutMs: NaN },
    { bind: 'no port' },
    { publisherPolicy: 'newest' },
    { workerThreads: 0 },
    { statsIntervalMs: Infinity },
    { readCoalescingMs: -1 },
    { maxMessageSize: 2 ** 32 },
    { maxAmfEntries: -1 },
    { maxAmfEntries: 2.5 },
    { maxAmfDecodedBytes: -1 },
    { maxAmfDecodedBytes: 2 ** 53 },
  ]
  for (const options of bad) {
    assert.throws(() => new Server(options), (e) => {
      assert.ok(e instanceof TypeError || e.code === 'InvalidArg', `${JSON.stringify(options)}: ${e}`)
      return true
    })
  }
  assert.throws(() => new Server({ maxConnections: -1 }), { name: 'TypeError', code: 'ERR_RTMP_INVALID_OPTION' })
  assert.throws(() => new Server({ chunkSize: 64 }), {
    code: 'ERR_RTMP_INVALID_OPTION',
    message: 'chunkSize must be an integer from 128 to 16777215, not 64',
  })
  // The AMF limits are refused like every integer option: out of range by us, other types by napi.
  for (const name of ['maxAmfDepth', 'maxAmfEntries', 'maxAmfDecodedBytes']) {
    assert.throws(() => new Server({ [name]: -1 }), {
      name: 'TypeError',
      code: 'ERR_RTMP_INVALID_OPTION',
      message: new RegExp(`^${name} must be an integer`),
    })
    assert.throws(() => new Server({ [name]: '64' }), {
      code: 'NumberExpected',
      message: new RegExp(`ServerOptions\\.${name}$`),
    })
  }
  assert.throws(() => new Server({ relayTlsRoots: ['/nonexistent.pem'] }), {
    code: 'ERR_RTMP_INVALID_OPTION',
    message: /^relayTlsRoots \/nonexistent\.pem: cannot be read/,
  })
  assert.throws(() => new Server({ tls: { bind: '127.0.0.1:0', certFile: '/nonexistent.pem', keyFile: '/nonexistent.pem' } }), {
    code: 'ERR_RTMP_TLS',
  })
})

test('the AMF limits reach the server: metadata past them closes that publisher', async () => {
  const metadata = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field${i}`, i]))
  const send = async (options) => {
    const seen = { metadata: [], reasons: [] }
    const server = await listen(options, {
      onMetadata: (session, frame) => void seen.metadata.push(frame.metadata),
      onDisconnect: (session, reason) => void seen.reasons.push(reason),
    })
    const publisher = await Publisher.connect(server.url('live/cam'))
    await publisher.sendMetadata(metadata)
    await waitFor(() => seen.metadata.length || seen.reasons.length, 5000, 'the metadata or a disconnect')
    await publisher.close().catch(() => {}) // the server may have closed it first
    await server.close()
    return seen
  }
  const accepted = await send({})
  assert.equal(accepted.metadata[0].field199, 199)
  for (const [options, refusal] of [
    [{ maxAmfEntries: 32 }, 'collection of 200 entries'],
    [{ maxAmfDecodedBytes: 8192 }, 'decoded values would exceed 8192 bytes'],
  ]) {
    const refused = await send(options)
    assert.deepEqual(refused.metadata, [], JSON.stringify(options))
    assert.equal(refused.reasons.length, 1, JSON.stringify(refused.reasons))
    assert.equal(refused.reasons[0].kind, 'protocol')
    assert.ok(refused.reasons[0].message.includes(refusal), refused.reasons[0].message)
  }
})

test('stats describe the live streams', async () => {
  const server = await listen()
  const publisher = await Publisher.connect(server.url('live/cam'))
  const avcConfig = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80])
  await publisher.sendVideo(0, avcConfig)
  const player = await rtmp.Player.connect(server.url('live/cam'))
  const stats = await waitFor(() => {
    const s = server.stats()
    return s.streams[0]?.players.length === 1 && s.streams[0].bytesIn > 0 && s
  }, 3000, 'the publisher and a player in the stats')
  assert.equal(stats.connections, 2)
  assert.ok(stats.totalConnections >= 2)
  assert.ok(stats.bytesOut > 0) // bytesIn is counted when a connection ends
  const [stream] = stats.streams
  assert.ok(stream.bytesIn > 0)
  assert.deepEqual(stream.key, { app: 'live', name: 'cam' })
  assert.match(stream.publisher, /^127\.0\.0\.1:\d+$/)
  assert.equal(typeof stream.uptimeMs, 'number')
  assert.equal(typeof stream.players[0].sessionId, 'number')
  await player.close()
  await publisher.close()
  await server.close()
})

test('the library logs to a JS function', async () => {
  const lines = []
  rtmp.setLogger((level, target, message) => lines.push({ level, target, message }), 'info')
  try {
    const server = await listen()
    const publisher = await Publisher.connect(server.url('live/logged'))
    await publisher.close()
    await server.close()
    await waitFor(() => lines.some((l) => l.message.includes('live/logged')), 3000, 'a log line naming the stream')
    assert.ok(lines.every((l) => ['error', 'warn', 'info'].includes(l.level)))
    assert.ok(lines.some((l) => l.target.startsWith('rtmp_core')))
  } finally {
    rtmp.setLogger(null)
  }
})

test('Node exits by itself after close(), with hooks, stats and clients used', async () => {
  const run = child('exit-after-close', { timeoutMs: 20000 })
  const { code, signal, stdout, stderr } = await run.done
  assert.equal(signal, null, `killed: it did not exit by itself (${stdout} ${stderr})`)
  assert.equal(code, 0, stderr)
  assert.match(stdout, /^closed frames=2$/m)
})

test('a listening server keeps Node alive; a logger alone does not', async () => {
  const run = child('listening', { timeoutMs: 1500 })
  const { signal, stdout } = await run.done
  assert.match(stdout, /^listening 127\.0\.0\.1:\d+$/m)
  assert.equal(signal, 'SIGKILL', 'still running after 1.5 s')

  const logger = await child('logger', { timeoutMs: 5000 }).done
  assert.equal(logger.signal, null)
  assert.equal(logger.code, 0)
  assert.ok(logger.ms < 4000)
})

test('hook errors without onError go to stderr and never crash the process', async () => {
  const { code, signal, stdout, stderr } = await child('hook-errors', { timeoutMs: 20000 }).done
  assert.equal(signal, null)
  assert.equal(code, 0, stderr)
  assert.match(stdout, /^survived$/m)
  assert.match(stderr, /rtmp-rs: error in onHandshakeComplete: boom in handshake/)
  assert.match(stderr, /rtmp-rs: onError threw: onError itself fails/)
})

test('maxPlayersPerStream refuses a play past it', async () => {
  const server = await listen({ maxPlayersPerStream: 1 })
  const publisher = await Publisher.connect(server.url('live/cam'))
  const player = await Player.connect(server.url('live/cam'))
  await assert.rejects(Player.connect(server.url('live/cam')), (e) => {
    assert.equal(e.code, 'ERR_RTMP_REJECTED', e.message)
    assert.equal(e.description, 'Too many players.')
    return true
  })
  await player.close()
  await publisher.close()
  await server.close()
})
