import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { STATUS_PATH, SUBPROTOCOL } from '@forkd/protocol'
import { watchStatus } from '@forkd/server'
import { startEnv, waitFor, type TestEnv } from '../support/harness.js'

let env: TestEnv | undefined
afterEach(async () => {
  await env?.cleanup()
  env = undefined
}, 60_000)

/** The HTTP status and body of a refused upgrade to `path`. */
function refusal(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${socketPath}:${path}`, SUBPROTOCOL)
    ws.on('open', () => reject(new Error('the upgrade was accepted')))
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    ws.on('error', () => undefined)
  })
}

describe('status connections with an interval', { timeout: 120_000 }, () => {
  it('streams a status every interval over one connection, served by one worker', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const statuses: Record<string, unknown>[] = []
    const ended: Error[] = []
    const watch = watchStatus(env.path, 100, { onStatus: (s) => statuses.push(s), onEnd: (e) => ended.push(e) })
    await waitFor(() => statuses.length >= 3, 'three statuses', 60_000)
    watch.close()
    const pids = statuses.map((s) => (s.workers as { pid: number; status: boolean }[]).find((w) => w.status)?.pid)
    for (const pid of pids) if (pid !== undefined) env.pids.add(pid)
    // One worker served them all; the first status may predate its own report.
    expect(new Set(pids.slice(1)).size).toBe(1)
    expect(pids[1]).toBeGreaterThan(0)
    expect(ended).toEqual([])
    expect(env.server.status().started).toBeGreaterThanOrEqual(2)
  })

  it('refuses an interval out of range with a 400 that says why', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    for (const bad of ['50', 'abc', '1.5', '3600001']) {
      const answer = await refusal(env.path, `${STATUS_PATH}?interval=${bad}`)
      expect(answer.status).toBe(400)
      expect(answer.body).toContain(`status interval must be an integer from 100 to 3600000 ms, got "${bad}"`)
    }
  })

  it('refuses a bad interval in watchStatus itself', () => {
    expect(() => watchStatus('/tmp/x.sock', 99, { onStatus() {}, onEnd() {} })).toThrow('forkd watchStatus: interval must be an integer from 100 to 3600000 ms, got 99')
  })

  it('ends the watch with an error when the server goes away', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const ended: Error[] = []
    let count = 0
    watchStatus(env.path, 100, { onStatus: () => void count++, onEnd: (e) => ended.push(e) })
    await waitFor(() => count >= 1, 'a status', 60_000)
    await env.server.close({ drain: false })
    await waitFor(() => ended.length === 1, 'the watch to end', 60_000)
    expect(ended[0]!.message).toMatch(new RegExp(`^the status connection to ${env.path} closed \\(\\d+`))
  })
})
