#!/usr/bin/env node
// An RTMP server that lets only holders of a token publish; playing is open.
//
//   node auth_server.js --bind 127.0.0.1:1935 --publish-token SECRET [--log LEVEL]
//   ffmpeg -re -i in.mp4 -c copy -f flv 'rtmp://127.0.0.1:1935/live/cam?token=SECRET'
//   ffplay rtmp://127.0.0.1:1935/live/cam
//
// One line per event on stdout: "connect app=live", "publish live/cam", "keyframe live/cam ts=MS",
// "unpublish live/cam", "play live/cam", "disconnect". Refusals and the listening address go to
// stderr. SIGINT or SIGTERM stops it gracefully.
'use strict'

const { Server, setLogger } = require('rtmp-rs')

function usage() {
  process.stderr.write('usage: auth_server --bind ADDR --publish-token SECRET [--log error|warn|info|debug]\n')
  process.exit(2)
}

const args = process.argv.slice(2)
const flags = {}
if (args.length % 2 !== 0) usage()
for (let i = 0; i < args.length; i += 2) {
  if (!['--bind', '--publish-token', '--log'].includes(args[i])) usage()
  flags[args[i]] = args[i + 1]
}
const bind = flags['--bind']
const token = flags['--publish-token']
if (!bind || !token) usage()
if (flags['--log']) {
  setLogger((level, target, message) => process.stderr.write(`[${level}] ${target}: ${message}\n`), flags['--log'])
}

const say = (line) => process.stdout.write(line + '\n')

const server = new Server({ bind }, {
  onConnect(session) {
    say(`connect app=${session.app}`)
  },
  onPublish(session, request) {
    if (request.query.token !== token) {
      process.stderr.write(`refused publish of ${request.streamName}: bad token\n`)
      throw new Error('Bad publish token.')
    }
    say(`publish ${request.app}/${request.name}`)
    return true
  },
  onKeyframe(session, frame) {
    say(`keyframe ${frame.app}/${frame.name} ts=${frame.timestamp}`)
  },
  onUnpublish(session, key) {
    say(`unpublish ${key.app}/${key.name}`)
  },
  onPlay(session, request) {
    say(`play ${request.app}/${request.name}`)
    return true
  },
  onDisconnect() {
    say('disconnect')
  },
  onError(error, hook) {
    process.stderr.write(`error in ${hook}: ${error && error.message}\n`)
  },
})

async function main() {
  await server.listen()
  process.stderr.write(`listening on rtmp://${server.address}\n`)
  const stop = async () => {
    process.removeAllListeners('SIGINT')
    process.removeAllListeners('SIGTERM')
    await server.close()
    setLogger(null)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error) => {
  process.stderr.write(`auth_server: ${error.message}\n`)
  process.exitCode = 1
})
