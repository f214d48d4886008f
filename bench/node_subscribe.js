#!/usr/bin/env node
// Frames per second a `for await` loop gets from one in-process subscription (Node).
//
//   (cd bindings/node && npm run build:release) && node bench/node_subscribe.js [--frames N] [--runs R]
//
// A local publisher sends N small video frames (an AVC sequence header, then inter frames with
// a keyframe every 250) into a stream in one burst; a subscriber whose latency budget (1 h) and
// queue (playerQueueLength N + 1024) hold all of them reads them with `for await`. Timed: the
// loop alone, from its start to the last frame (the sends before it are timed apart). Prints
// one line per run and the median of the runs.
'use strict'

const path = require('node:path')
const { Server } = require(path.join(__dirname, '..', 'bindings', 'node'))

function flag(name, fallback) {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const frames = flag('--frames', 200000)
const runs = flag('--runs', 5)

const avcConfig = Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80])
const inter = Buffer.from([0x27, 1, 0, 0, 0, 0, 0, 0, 4, 0x41, 0x9a, 0, 0])
const key = Buffer.from([0x17, 1, 0, 0, 0, 0, 0, 0, 4, 0x65, 0x88, 0, 0])

async function run(server, n) {
  const name = `live/bench${run.count = (run.count || 0) + 1}`
  const publisher = server.publish(name)
  publisher.sendVideo(0, avcConfig)
  const subscription = await server.subscribe(name, { start: 'live', latencyBudgetMs: 3_600_000 })
  const sending = process.hrtime.bigint()
  for (let i = 0; i < n; i++) publisher.sendVideo(i, i % 250 === 0 ? key : inter)
  const started = process.hrtime.bigint()
  let got = 0
  let dropped = 0
  for await (const item of subscription) {
    if (item.kind === 'video') {
      if (!item.isSequenceHeader && ++got === n) break
    } else if (item.kind === 'dropped') {
      dropped += item.video + item.audio
      if (got + dropped >= n) break
    }
  }
  const done = process.hrtime.bigint()
  publisher.close()
  const seconds = Number(done - started) / 1e9
  const sendSeconds = Number(started - sending) / 1e9
  return { got, dropped, seconds, perSecond: got / seconds, sendsPerSecond: n / sendSeconds }
}

async function main() {
  const server = new Server({ bind: '127.0.0.1:0', playerQueueLength: frames + 1024, playerLatencyBudgetMs: 3_600_000 })
  await server.listen()
  await run(server, Math.min(frames, 20000)) // warm-up
  const rates = []
  for (let r = 0; r < runs; r++) {
    const { got, dropped, seconds, perSecond, sendsPerSecond } = await run(server, frames)
    if (dropped) throw new Error(`${dropped} frames dropped: raise the queue`)
    rates.push(perSecond)
    console.log(`run ${r + 1}: ${got} frames read in ${seconds.toFixed(3)} s: ${Math.round(perSecond)} frames/s (the sends before: ${Math.round(sendsPerSecond)}/s)`)
  }
  rates.sort((a, b) => a - b)
  const median = rates[Math.floor(rates.length / 2)]
  console.log(`${Math.round(median)} frames/s delivered to for await (median of ${runs} runs of ${frames} frames, ${process.version})`)
  await server.close()
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
