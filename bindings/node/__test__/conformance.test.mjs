// The Node runner of the conformance cases (bindings/embed/conformance/cases.txt): options as
// camelCase fields of the Server's options (durations in milliseconds, with an `Ms` suffix),
// decisions as an `onPublish` hook; each result must be the case's, and a refused option's
// message must name it.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { Player, Publisher, Server, clientOptions, serverOptions } from '../index.js'

const CASES = new URL('../../embed/conformance/cases.txt', import.meta.url)

function nodeValue(text) {
  if (text === 'none') return undefined // as JS leaves an option out (napi refuses null)
  if (text === 'inf') return Infinity
  if (text === 'true' || text === 'false') return text === 'true'
  if (text.startsWith('"')) return text.slice(1, -1)
  if (text.startsWith('[')) return text.slice(1, -1).split(',').map((s) => s.trim())
  const duration = /^(-?[0-9.]+)(ms|s)$/.exec(text)
  if (duration) return Number(duration[1]) * (duration[2] === 's' ? 1000 : 1)
  return Number(text)
}

const fields = new Map(serverOptions().map((o) => [o.name, o.field]))
const clientFields = new Map(clientOptions().map((o) => [o.name, o.field]))

const rows = readFileSync(CASES, 'utf8')
  .split('\n')
  .filter((line) => line && !line.startsWith('#'))
  .map((line) => line.split('\t'))
const cases = (kind) => rows.filter((row) => row[0] === kind).map((row) => row.slice(1))

test('the conformance cases are there', () => {
  assert.ok(cases('option').length >= 50)
  assert.ok(cases('client_option').length >= 10)
  assert.equal(cases('decision').length, 6)
  assert.equal(fields.get('connection_timeout'), 'connectionTimeoutMs')
})

for (const [name, value, expected] of cases('option')) {
  test(`option ${name} = ${value}: ${expected}`, async () => {
    const field = fields.get(name)
    assert.ok(field, `${name} is not a server option`)
    const options = { bind: '127.0.0.1:0', [field]: nodeValue(value) }
    if (expected === 'ok') {
      const server = new Server(options)
      await server.close()
    } else {
      assert.throws(() => new Server(options), (e) => {
        assert.match(e.message, new RegExp(`^${field} `), `${field}: ${e.message}`)
        return true
      })
    }
  })
}

for (const [name, value, expected] of cases('client_option')) {
  test(`client option ${name} = ${value}: ${expected}`, async () => {
    const field = clientFields.get(name)
    assert.ok(field, `${name} is not a client option`)
    // Nothing listens on port 1: an accepted option ends in a connection error.
    await assert.rejects(Player.connect('rtmp://127.0.0.1:1/live/cam', { [field]: nodeValue(value) }), (e) => {
      if (expected === 'ok') {
        assert.notEqual(e.code, 'ERR_RTMP_INVALID_OPTION', e.message)
      } else {
        assert.equal(e.code, 'ERR_RTMP_INVALID_OPTION', e.message)
        assert.match(e.message, new RegExp(`^${field} `))
      }
      return true
    })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// onPublish does what the stream's name says.
const outcomes = {
  accept: () => true,
  reject: () => {
    throw new Error('Not you.')
  },
  fail: () => Promise.reject(new TypeError('the hook failed')),
  answer_in_time: () => sleep(100).then(() => true),
  answer_late: () => sleep(800).then(() => true),
  no_answer: () => new Promise(() => {}),
}

for (const [outcome, expected] of cases('decision')) {
  test(`decision ${outcome}: ${expected}`, async () => {
    const server = new Server(
      { bind: '127.0.0.1:0', decisionTimeoutMs: 400 },
      { onPublish: (_session, request) => outcomes[request.name](), onError: () => {} },
    )
    await server.listen()
    try {
      const publishing = Publisher.connect(`rtmp://${server.address}/live/${outcome}`)
      if (expected === 'accepted') {
        await (await publishing).close()
      } else {
        await assert.rejects(publishing, (e) => {
          assert.equal(e.code, 'ERR_RTMP_REJECTED', e.message)
          if (outcome === 'reject') assert.equal(e.description, 'Not you.')
          return true
        })
      }
    } finally {
      await server.close()
    }
  })
}
