// Misuse: calls out of order are errors with stable codes, hooks that never settle are bounded,
// a server dropped while listening does not crash the process.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import test from 'node:test'

import { here, rtmp, runNode, waitFor } from './helpers.mjs'

const { Server, Player, Publisher } = rtmp

test('lifecycle calls out of order: errors with codes, never a crash', async () => {
  const server = new Server({ bind: '127.0.0.1:0' })
  await server.close() // never listened: nothing to do
  await server.listen()
  await assert.rejects(server.listen(), { code: 'ERR_RTMP_STATE' })
  const publisher = await Publisher.connect(`rtmp://${server.address}/live/cam`)
  await publisher.close()
  await publisher.close() // twice: nothing to do
  await assert.rejects(publisher.sendVideo(0, Buffer.from([0x17, 1, 0, 0, 0])), { code: 'ERR_RTMP_CLOSED' })
  await server.close()
  await server.close() // twice: nothing to do
  assert.equal(server.listening, false)
  await server.listen() // listens again after close
  const again = await Publisher.connect(`rtmp://${server.address}/live/cam`)
  await again.close()
  await server.close()
  await assert.rejects(Publisher.connect('not a url'), { code: 'ERR_RTMP_BAD_URL' })
  await assert.rejects(Player.connect('rtmp://127.0.0.1:1/live/cam'), { code: 'ERR_RTMP_IO' })
})

test('hooks that never settle are bounded; close() does not wait for them', async () => {
  let disconnects = 0
  const never = () => new Promise(() => {})
  const errors = []
  const server = new Server(
    { bind: '127.0.0.1:0', decisionTimeoutMs: 500 },
    {
      onPublish: never,
      onDisconnect: () => {
        disconnects++
        return never()
      },
      onError: (error) => errors.push(error.code),
    },
  )
  await server.listen()
  const started = Date.now()
  await assert.rejects(Publisher.connect(`rtmp://${server.address}/live/cam`), { code: 'ERR_RTMP_REJECTED' })
  assert.ok(Date.now() - started < 3000, `rejected after ${Date.now() - started} ms`)
  // Meanwhile other connections are served.
  const player = await Player.connect(`rtmp://${server.address}/live/other`)
  await player.close()
  // The timeout is reported to onError as well (after the reject).
  await waitFor(() => errors.includes('ERR_RTMP_DECISION_TIMEOUT'), 3000, 'the timeout report')
  const closing = Date.now()
  await server.close()
  assert.ok(Date.now() - closing < 5000, `close() took ${Date.now() - closing} ms`)
  assert.ok(disconnects >= 1)
})

test('a server dropped while listening keeps serving and exits cleanly', async () => {
  const run = runNode(['--expose-gc', join(here, 'child.cjs'), 'dropped'], { timeoutMs: 20000 })
  const { code, signal, stdout, stderr } = await run.done
  assert.equal(signal, null, `killed (${stdout} ${stderr})`)
  assert.equal(code, 0, stderr)
  assert.match(stdout, /^published$/m)
})
