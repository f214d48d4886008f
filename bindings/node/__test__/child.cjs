// Child processes for lifecycle.test.mjs: `node child.cjs MODE`. Prints milestones on stdout.
'use strict'
const { Server, Player, Publisher, setLogger } = require('../index.js')

const mode = process.argv[2]
const say = (line) => process.stdout.write(line + '\n')

async function serve(handler = {}, options = {}) {
  const server = new Server({ bind: '127.0.0.1:0', ...options }, handler)
  await server.listen()
  return server
}

const modes = {
  // Hooks, clients, stats, frames; then close() and nothing else: Node must exit by itself.
  async 'exit-after-close'() {
    let frames = 0
    const server = await serve(
      {
        onConnect: () => true,
        onPublish: async () => true,
        onVideoFrame: () => frames++,
        onStats: () => {},
        onDisconnect: () => {},
      },
      { statsIntervalMs: 50, decisionTimeoutMs: 60000 },
    )
    const url = `rtmp://${server.address}/live/cam`
    const publisher = await Publisher.connect(url)
    await publisher.sendVideo(0, Buffer.from([0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f]))
    const player = await Player.connect(url)
    await publisher.sendVideo(40, Buffer.from([0x17, 1, 0, 0, 0, 1, 2, 3]))
    // Once the player has the second frame, the server has run its hooks (they come first).
    for (;;) {
      const event = await player.read()
      if (!event || (event.type === 'frame' && event.frame.timestamp === 40)) break
    }
    // The clients are left open: the server's shutdown ends their connections.
    await server.close()
    say(`closed frames=${frames}`)
  },
  // A listening server keeps Node alive, like net.Server.
  async listening() {
    const server = await serve({ onConnect: () => true })
    say(`listening ${server.address}`)
  },
  // Errors in hooks without onError go to stderr; a throwing onError too; the process lives on.
  async 'hook-errors'() {
    const quiet = await serve({
      onHandshakeComplete() {
        throw new Error('boom in handshake')
      },
    })
    const loud = await serve({
      onHandshakeComplete() {
        throw new Error('boom again')
      },
      onError() {
        throw new Error('onError itself fails')
      },
    })
    for (const server of [quiet, loud]) {
      const publisher = await Publisher.connect(`rtmp://${server.address}/live/x`)
      await publisher.close()
      await server.close()
    }
    say('survived')
  },
  // A listening server whose last reference is dropped (and collected) keeps serving, like a
  // net.Server; process.exit() then ends it cleanly.
  async dropped() {
    let server = await serve()
    const url = `rtmp://${server.address}/live/cam`
    server = null
    global.gc()
    await new Promise((resolve) => setImmediate(resolve))
    global.gc()
    const publisher = await Publisher.connect(url)
    await publisher.sendVideo(0, Buffer.from([0x17, 1, 0, 0, 0, 1, 2, 3]))
    await publisher.close()
    say('published')
    process.exit(0)
  },
  // A logger alone does not keep Node alive.
  async logger() {
    setLogger(() => {}, 'debug')
    say('logger set')
  },
}

modes[mode]().catch((error) => {
  process.stderr.write(`child ${mode}: ${error.stack}\n`)
  process.exitCode = 1
})
