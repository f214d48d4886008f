// The examples end to end, as the C examples' test does: ffmpeg publishes to auth_server.js with a
// wrong token (refused) and the right one, player.js counts frames, SIGTERM stops the server.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'node:test'

import { packageDir, play, publish, repoDir, rtmp, runNode, waitFor } from './helpers.mjs'

// RTMP_RS_NODE_EXAMPLES: the examples copied into a project that installed the npm tarballs
// (scripts/test-node.sh's packaging step); by default the repo's, which `require('rtmp-rs')`
// through examples/node's link to bindings/node.
const examples = process.env.RTMP_RS_NODE_EXAMPLES || join(repoDir, 'examples', 'node')
const LINE = /^(connect app=live|publish live\/cam|keyframe live\/cam ts=\d+|unpublish live\/cam|play live\/cam|disconnect)$/

test('auth_server.js and player.js with ffmpeg', async () => {
  const server = runNode([join(examples, 'auth_server.js'), '--bind', '127.0.0.1:0', '--publish-token', 's3cret'], {
    timeoutMs: 60000,
  })
  const out = () => server.output()
  const listening = await waitFor(() => /^listening on rtmp:\/\/(\S+)$/m.exec(out().stderr), 10000, 'listening')
  const address = listening[1]

  const wrong = await publish(`rtmp://${address}/live/cam?token=wrong`, 1).done
  assert.notEqual(wrong.code, 0, 'ffmpeg published with a wrong token')
  assert.match(wrong.stderr, /Bad publish token\./)
  assert.match(out().stderr, /^refused publish of cam\?token=wrong: bad token$/m)
  assert.doesNotMatch(out().stdout, /^publish /m)

  const ffmpeg = publish(`rtmp://${address}/live/cam?token=s3cret`, 6, { size: '320x240' })
  await waitFor(() => /^keyframe live\/cam ts=\d+$/m.test(out().stdout), 15000, 'a keyframe line')
  const player = await runNode([join(examples, 'player.js'), `rtmp://${address}/live/cam`, '--duration', '3'], {
    timeoutMs: 20000,
  }).done
  assert.equal(player.code, 0, player.stderr)
  const counts = /^video=(\d+) audio=(\d+) keyframes=(\d+)$/m.exec(player.stdout)
  assert.ok(counts, player.stdout)
  const [video, audio, keyframes] = counts.slice(1).map(Number)
  assert.ok(video >= 50 && audio >= 50 && keyframes >= 2, player.stdout)

  const published = await ffmpeg.done
  assert.equal(published.code, 0, published.stderr)
  await waitFor(() => /^unpublish live\/cam$/m.test(out().stdout), 10000, 'unpublish')
  server.kill('SIGTERM')
  const exited = await server.done
  assert.equal(exited.code, 0, exited.stderr)

  const lines = exited.stdout.trim().split('\n')
  for (const line of lines) assert.match(line, LINE)
  for (const event of ['connect app=live', 'publish live/cam', 'play live/cam', 'unpublish live/cam', 'disconnect']) {
    assert.ok(lines.includes(event), `auth_server printed '${event}'`)
  }
  const connects = lines.filter((l) => l === 'connect app=live').length
  assert.equal(connects, 3)
  assert.equal(lines.filter((l) => l === 'disconnect').length, connects)
  assert.doesNotMatch(exited.stderr, /panicked|error in/)
})

test('the examples refuse bad command lines', async () => {
  const server = await runNode([join(examples, 'auth_server.js'), '--bind', '127.0.0.1:0']).done
  assert.equal(server.code, 2)
  assert.match(server.stderr, /^usage: auth_server/m)
  const player = await runNode([join(examples, 'player.js')]).done
  assert.equal(player.code, 2)
  assert.match(player.stderr, /^usage: player/m)
  const refused = await runNode([join(examples, 'player.js'), 'rtmp://127.0.0.1:1/live/cam', '--duration', '1']).done
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^player: /m)
})

test('the README snippets run: the 10-line server and the player loop', async () => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
  assert.equal(blocks.length, 2)
  const [serverJs, playerJs] = blocks
  assert.ok(serverJs.trim().split('\n').length <= 10, 'the server fits in 10 lines')
  const dir = mkdtempSync(join(tmpdir(), 'rtmp-rs-readme-'))
  const local = (code) => code.replaceAll("require('rtmp-rs')", `require(${JSON.stringify(packageDir)})`)
  try {
    writeFileSync(join(dir, 'server.js'), local(serverJs).replace("'0.0.0.0:1935'", "'127.0.0.1:0'"))
    const server = runNode([join(dir, 'server.js')], { env: { TOKEN: 'SECRET' }, timeoutMs: 30000 })
    const listening = await waitFor(() => /^listening on rtmp:\/\/(\S+)$/m.exec(server.output().stdout), 10000, 'listening')
    const address = listening[1]
    await assert.rejects(rtmp.Publisher.connect(`rtmp://${address}/live/cam?token=nope`), { code: 'ERR_RTMP_REJECTED' })
    const publisher = await rtmp.Publisher.connect(`rtmp://${address}/live/cam?token=SECRET`)
    await publisher.sendVideo(0, Buffer.from([0x17, 1, 0, 0, 0, 0x65, 1, 2]))

    writeFileSync(join(dir, 'player.js'), local(playerJs).replace('127.0.0.1:1935', address))
    const player = runNode([join(dir, 'player.js')], { timeoutMs: 30000 })
    await waitFor(() => /^video 0 avc1 true 8$/m.test(player.output().stdout), 10000, 'the player snippet printing the keyframe')
    await publisher.sendAudio(40, Buffer.from([0xaf, 1, 9, 9]))
    await publisher.close() // ends the player's loop
    const played = await player.done
    assert.equal(played.code, 0, played.stderr)
    assert.match(played.stdout, /^audio 40 mp4a false 4$/m)

    await waitFor(() => /^keyframe live\/cam 0 ms$/m.test(server.output().stdout), 5000, 'the keyframe line')
    server.kill('SIGINT')
    const stopped = await server.done
    assert.equal(stopped.code, 0, stopped.stderr)
    assert.equal(stopped.signal, null, 'SIGINT closed the server and Node exited by itself')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('restream.js relays live/cam to live/cam_video in-process, video only, and ffmpeg plays it', async () => {
  const usage = await runNode([join(examples, 'restream.js')]).done
  assert.equal(usage.code, 2)
  assert.match(usage.stderr, /^usage: restream/m)

  const server = runNode([join(examples, 'restream.js'), '--bind', '127.0.0.1:0'], { timeoutMs: 90000 })
  const out = () => server.output()
  const listening = await waitFor(() => /^listening on rtmp:\/\/(\S+)$/m.exec(out().stderr), 10000, 'listening')
  const address = listening[1]
  const ffmpeg = publish(`rtmp://${address}/live/cam`, 10)
  await waitFor(() => /^relayed frames=\d+ total=\d+$/m.test(out().stdout), 20000, 'a relayed line')
  const played = await play(`rtmp://${address}/live/cam_video`, { seconds: 4 }).done
  assert.equal(played.code, 0, played.stderr)
  assert.ok(played.hasVideo && played.video >= 60, `ffmpeg decoded ${played.video} video frames of live/cam_video`)
  assert.ok(!played.hasAudio && played.audio === 0, 'live/cam_video has no audio stream')
  const published = await ffmpeg.done
  assert.equal(published.code, 0, published.stderr)

  server.kill('SIGTERM')
  const exited = await server.done
  assert.equal(exited.code, 0, exited.stderr)
  const lines = exited.stdout.trim().split('\n')
  for (const line of lines) assert.match(line, /^relayed frames=\d+ total=\d+$/)
  const totals = lines.map((line) => Number(/total=(\d+)/.exec(line)[1]))
  assert.ok(lines.length >= 5, `${lines.length} lines a second over 10 s`)
  assert.ok(totals.every((t, i) => i === 0 || t > totals[i - 1]), 'totals grow')
  // 10 s at 25 fps, and metadata: every video frame of live/cam was relayed.
  assert.ok(totals.at(-1) >= 250 && totals.at(-1) <= 260, `${totals.at(-1)} frames relayed`)
  assert.equal(exited.stderr.trim(), `listening on rtmp://${address}`)
})

test('the README snippet of streams in-process runs: subscribe, re-publish, break on unpublished', async () => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```javascript\n([\s\S]*?)```/g)].map((m) => m[1])
  assert.equal(blocks.length, 1)
  const dir = mkdtempSync(join(tmpdir(), 'rtmp-rs-readme-'))
  try {
    const code = blocks[0].replaceAll("require('rtmp-rs')", `require(${JSON.stringify(packageDir)})`)
    writeFileSync(join(dir, 'local.js'), code.replace("'127.0.0.1:1935'", "'127.0.0.1:0'"))
    const snippet = runNode([join(dir, 'local.js')], { timeoutMs: 60000 })
    const listening = await waitFor(() => /^listening on rtmp:\/\/(\S+)$/m.exec(snippet.output().stdout), 10000, 'listening')
    const address = listening[1]
    const ffmpeg = publish(`rtmp://${address}/live/cam`, 4)
    await waitFor(() => /^keyframe \d+$/m.test(snippet.output().stdout), 20000, 'a keyframe line')
    const player = await rtmp.Player.connect(`rtmp://${address}/live/copy`)
    let keyframes = 0
    for await (const frame of player) if (frame.isKeyframe && ++keyframes === 2) break
    assert.equal((await ffmpeg.done).code, 0)
    const done = await snippet.done // the loop breaks on unpublished, the server closes, Node exits
    assert.equal(done.code, 0, done.stderr)
    assert.ok(done.stdout.match(/^keyframe \d+$/gm).length >= 3, done.stdout)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
