#!/usr/bin/env node
// An RTMP server that re-publishes live/cam as live/cam_video, video only, in-process: a
// subscription reads live/cam's frames and a local publisher sends its metadata and video frames
// on, without copying them (no socket, no re-encoding).
//
//   node restream.js --bind 127.0.0.1:1935
//   ffmpeg -re -i in.mp4 -c copy -f flv rtmp://127.0.0.1:1935/live/cam
//   ffplay rtmp://127.0.0.1:1935/live/cam_video
//
// One line a second on stdout while frames flow, and one at the end: "relayed frames=N total=T"
// (N since the line before). The listening address goes to stderr. live/cam may stop and start again; SIGINT or
// SIGTERM stops the server gracefully.
'use strict'

const { Server } = require('rtmp-rs')

const SOURCE = 'live/cam'
const COPY = 'live/cam_video'

function usage() {
  process.stderr.write('usage: restream --bind ADDR\n')
  process.exit(2)
}

const args = process.argv.slice(2)
if (args.length !== 2 || args[0] !== '--bind') usage()
const bind = args[1]

const server = new Server({ bind })
let total = 0
let lastSecond = 0

/** Relays live/cam to live/cam_video until the server closes. */
async function relay() {
  let subscription
  try {
    // Waits for live/cam to be published.
    subscription = await server.subscribe(SOURCE, { waitMs: Infinity })
  } catch (error) {
    if (error.code === 'ERR_RTMP_CLOSED') return // closed while waiting
    throw error
  }
  let out = null
  // One subscription for every publish of live/cam: it ends when the server closes.
  for await (const item of subscription) {
    if (item.kind === 'unpublished') {
      // live/cam stopped: so does the copy (its players get the end of the stream).
      if (out) out.close()
      out = null
    } else if (item.kind === 'video' || item.kind === 'metadata') {
      try {
        if (!out) out = server.publish(COPY)
        out.sendFrame(item) // the same memory, no copy
        total++
      } catch (error) {
        // Someone else publishes live/cam_video (ERR_RTMP_REJECTED), took it over
        // (ERR_RTMP_CLOSED), or a frame was refused: start again at the next frame.
        process.stderr.write(`restream: ${error.code}: ${error.message}\n`)
        if (out) out.close()
        out = null
      }
    }
    // Audio, data, 'published' and 'dropped' (this loop fell behind) are not relayed.
  }
  if (out) out.close()
}

async function main() {
  await server.listen()
  process.stderr.write(`listening on rtmp://${server.address}\n`)
  const report = () => {
    if (total === lastSecond) return
    process.stdout.write(`relayed frames=${total - lastSecond} total=${total}\n`)
    lastSecond = total
  }
  const ticker = setInterval(report, 1000)
  const stop = () => {
    process.removeAllListeners('SIGINT')
    process.removeAllListeners('SIGTERM')
    server.close() // ends the subscription, and so the relay
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    await relay()
  } finally {
    clearInterval(ticker)
    report() // what the last second relayed
    await server.close()
  }
}

main().catch((error) => {
  process.stderr.write(`restream: ${error.message}\n`)
  process.exitCode = 1
  server.close()
})
