// Shared by the node --test files: the real ffmpeg, servers on loopback ports the OS picks,
// and small waiting helpers.
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { after } from 'node:test'

export const require = createRequire(import.meta.url)
export const here = dirname(fileURLToPath(import.meta.url))
export const packageDir = join(here, '..')
export const repoDir = join(packageDir, '..', '..')
export const rtmp = require('../index.js')
export { sleep }

let ffmpeg = null

/** ffmpeg 9: RTMP_RS_FFMPEG, `ffmpeg-9` on PATH, or imageio-ffmpeg's binary (the repo's .venv). */
export function ffmpegPath() {
  if (ffmpeg) return ffmpeg
  const candidates = []
  if (process.env.RTMP_RS_FFMPEG) candidates.push(process.env.RTMP_RS_FFMPEG)
  const onPath = spawnSync('sh', ['-c', 'command -v ffmpeg-9'], { encoding: 'utf8' })
  if (onPath.status === 0) candidates.push(onPath.stdout.trim())
  for (const python of [join(repoDir, '.venv', 'bin', 'python'), 'python3']) {
    const found = spawnSync(python, ['-c', 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())'], {
      encoding: 'utf8',
    })
    if (found.status === 0) candidates.push(found.stdout.trim())
  }
  for (const candidate of candidates) {
    if (spawnSync(candidate, ['-hide_banner', '-version']).status === 0) {
      ffmpeg = candidate
      return ffmpeg
    }
  }
  throw new Error('no ffmpeg: set RTMP_RS_FFMPEG, put ffmpeg-9 on PATH or pip install imageio-ffmpeg (scripts/test-node.sh does)')
}

/** Runs ffmpeg; resolves { code, stderr } when it exits. */
export function runFfmpeg(args) {
  const child = spawn(ffmpegPath(), ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  child.done = new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })))
  return child
}

/** Publishes a synthetic H.264 + AAC stream (25 fps, a keyframe per second) to `url`, in real time
 * unless `realtime` is false (then as fast as ffmpeg encodes). */
export function publish(url, seconds, { size = '160x120', realtime = true } = {}) {
  return runFfmpeg([
    ...(realtime ? ['-re'] : []), '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url,
  ])
}

/** Writes a short FLV file (H.264 + AAC) with ffmpeg. */
export async function makeFlv(path, seconds = 1) {
  const child = runFfmpeg([
    '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'flv', path,
  ])
  const { code, stderr } = await child.done
  if (code !== 0) throw new Error(`ffmpeg could not write ${path}: ${stderr}`)
}

/** Polls `condition` every 20 ms until it is truthy or `ms` passed. */
export async function waitFor(condition, ms = 10000, what = 'condition') {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await condition()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

const servers = new Set()
// A failed test must not leave a listening server behind: it would keep the file's process alive.
after(async () => {
  for (const server of servers) await server.close()
})

/** A listening server on 127.0.0.1 with an OS-chosen port; `url(path)` builds RTMP URLs. */
export async function listen(options = {}, handler = {}) {
  const server = new rtmp.Server({ bind: '127.0.0.1:0', ...options }, handler)
  await server.listen()
  servers.add(server)
  server.url = (path) => `rtmp://${server.address}/${path}`
  return server
}

/** Runs a node script; resolves { code, signal, stdout, stderr, ms }. */
export function runNode(args, { timeoutMs = 20000, env = {} } = {}) {
  const started = Date.now()
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  child.done = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    }),
  )
  child.output = () => ({ stdout, stderr })
  return child
}

/** Plays `url` with ffmpeg for at most `seconds` of media (until the stream ends), decoding every
 * frame to framemd5; resolves { video, audio, hasVideo, hasAudio, code, stderr } with the counts
 * of decoded frames. Killed after `limitMs`. */
export function play(url, { seconds = 30, limitMs = 60000 } = {}) {
  const child = spawn(ffmpegPath(), [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-i', url,
    '-t', String(seconds), '-fps_mode', 'passthrough', '-f', 'framemd5', '-',
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
  child.done = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const kinds = new Map()
      const counts = { video: 0, audio: 0 }
      for (const line of stdout.split('\n')) {
        const media = /^#media_type (\d+): (\w+)/.exec(line)
        if (media) kinds.set(media[1], media[2])
        else if (line && !line.startsWith('#')) {
          const kind = kinds.get(line.split(',')[0].trim())
          if (kind in counts) counts[kind]++
        }
      }
      const streams = [...kinds.values()]
      resolve({ ...counts, hasVideo: streams.includes('video'), hasAudio: streams.includes('audio'), code, signal, stderr })
    }),
  )
  return child
}

const NGINX = '/usr/sbin/nginx'
const NGINX_RTMP = '/usr/lib/nginx/modules/ngx_rtmp_module.so'
const nginxes = new Set()
after(() => {
  for (const nginx of nginxes) nginx.kill()
})

/** A free loopback TCP port (bound, then released): for nginx, and as a port nothing listens on. */
export async function freePort() {
  const { createServer } = await import('node:net')
  const probe = createServer()
  await new Promise((resolve, reject) => probe.listen(0, '127.0.0.1', resolve).on('error', reject))
  const { port } = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** nginx-rtmp (a server no one here wrote) on a free loopback port with its own config and one
 * `application live { live on; }`; `url(name)` is `rtmp://127.0.0.1:PORT/live/NAME`. Killed by
 * its pid (`kill()`, and after the file's tests). Fails loudly when nginx-rtmp is missing. */
export async function startNginx() {
  const { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { connect } = await import('node:net')
  if (!existsSync(NGINX) || !existsSync(NGINX_RTMP)) {
    throw new Error(`nginx-rtmp is missing (${NGINX}, ${NGINX_RTMP}): apt-get install nginx-light libnginx-mod-rtmp`)
  }
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'rtmp-rs-node-nginx-'))
  mkdirSync(join(dir, 'logs'))
  const user = process.getuid?.() === 0 ? 'user root;' : ''
  writeFileSync(join(dir, 'nginx.conf'), [
    `load_module ${NGINX_RTMP};`, user, 'worker_processes 1;', 'daemon off;', 'master_process off;',
    `error_log ${dir}/logs/error.log info;`, `pid ${dir}/nginx.pid;`, 'events { worker_connections 256; }',
    `rtmp { server { listen 127.0.0.1:${port}; chunk_size 4096;`,
    'application live { live on; record off; } } }', '',
  ].join('\n'))
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  let exited = false
  child.on('exit', () => (exited = true))
  const nginx = {
    port,
    url: (name) => `rtmp://127.0.0.1:${port}/live/${name}`,
    kill() {
      if (!nginxes.delete(nginx)) return
      if (!exited) process.kill(child.pid, 'SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
  nginxes.add(nginx)
  const up = () => new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
    socket.on('error', () => resolve(false))
  })
  await waitFor(async () => exited || (await up()), 10000, `nginx on port ${port} (logs in ${dir}/logs)`)
  if (exited) throw new Error(`nginx exited at start: see ${dir}/logs/error.log`)
  return nginx
}
