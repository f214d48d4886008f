// The Node runner of the conformance cases (bindings/embed/conformance/server_options.txt): each
// option is a camelCase field of the Server's options (durations in milliseconds, with an `Ms`
// suffix), and the result must be the case's; a refusal must name the option.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { Server, serverOptions } from '../index.js'

const CASES = new URL('../../embed/conformance/server_options.txt', import.meta.url)

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

const cases = readFileSync(CASES, 'utf8')
  .split('\n')
  .filter((line) => line && !line.startsWith('#'))
  .map((line) => line.split('\t'))

test('the conformance cases are there', () => {
  assert.ok(cases.length >= 50)
  assert.equal(fields.get('connection_timeout'), 'connectionTimeoutMs')
})

for (const [name, value, expected] of cases) {
  test(`${name} = ${value}: ${expected}`, async () => {
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
