#!/usr/bin/env node
// Plays a stream for a while and counts what arrived.
//
//   node player.js rtmp://127.0.0.1:1935/live/cam --duration 5
//
// Ends with "video=N audio=M keyframes=K" on stdout, after the duration or when the stream ends.
'use strict'

const { Player } = require('rtmp-rs')

function usage() {
  process.stderr.write('usage: player URL [--duration SECONDS]\n')
  process.exit(2)
}

let url = null
let duration = 10
const args = process.argv.slice(2)
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--duration' && i + 1 < args.length) {
    duration = Number(args[++i])
  } else if (url === null && !args[i].startsWith('-')) {
    url = args[i]
  } else {
    usage()
  }
}
if (url === null || !(duration > 0)) usage()

async function main() {
  const player = await Player.connect(url, { connectTimeoutMs: 5000 })
  const deadline = Date.now() + duration * 1000
  // Closing ends the loop below even while no frame arrives.
  const timer = setTimeout(() => player.close(), duration * 1000)
  let video = 0
  let audio = 0
  let keyframes = 0
  // Ends by itself when the publisher stops or the connection ends.
  for await (const frame of player) {
    if (Date.now() >= deadline) break
    if (frame.kind === 'video') {
      video++
      if (frame.isKeyframe) keyframes++
    } else if (frame.kind === 'audio') {
      audio++
    }
  }
  clearTimeout(timer)
  process.stdout.write(`video=${video} audio=${audio} keyframes=${keyframes}\n`)
  await player.close()
}

main().catch((error) => {
  process.stderr.write(`player: ${error.message}\n`)
  process.exitCode = 1
})
