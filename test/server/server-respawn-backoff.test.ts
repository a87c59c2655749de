import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { serverLog, startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'

describe('Server respawn backoff', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('restarts workers that die before they are ready with growing delays, and logs why', async () => {
    const marker = join('/tmp', `fd-break-${process.pid}-${Date.now()}`)
    env = await startEnv('flaky-load-worker.mjs', { spares: 1, env: { ...process.env, FORKD_TEST_BREAK: marker } })
    const logStart = serverLog.length
    writeFileSync(marker, '')
    try {
      // After a reload every new spare dies while loading.
      env.server.reload()
      const started = Date.now()
      await waitFor(() => (env!.server.status().exits['5'] ?? 0) >= 4, 'four failed starts', 20_000)
      // The delays between failed starts (equal jitter: half fixed, half random) add up to at least
      // 50 + 100 + 200 ms, and no storm of processes is started meanwhile: one at a time (the old
      // spare, then the failed ones).
      expect(Date.now() - started).toBeGreaterThanOrEqual(350)
      const status = env.server.status()
      expect(status.started).toBeLessThanOrEqual(1 + (status.exits['5'] ?? 0) + 1)
      const log = serverLog.slice(logStart).map((r) => r.message)
      expect(log).toContainEqual(expect.stringMatching(/worker exited with code 5 before it was ready; its last output: broken on purpose/))
      // The delay doubles from 100 ms, each between half of it and all of it.
      const delays = new Map<number, number>()
      for (const line of log) {
        const m = /^a worker died before it was ready \((\d+) in a row\); next start in (\d+) ms$/.exec(line)
        if (m !== null) delays.set(Number(m[1]), Number(m[2]))
      }
      for (const [n, base] of [[1, 100], [2, 200], [3, 400]] as const) {
        expect(delays.get(n)).toBeGreaterThanOrEqual(base / 2)
        expect(delays.get(n)).toBeLessThanOrEqual(base)
      }
    } finally {
      rmSync(marker, { force: true })
    }
    // Once the module loads again, spares come back and the backoff resets.
    await waitFor(() => env!.server.status().spares === 1, 'a spare after the fix', 10_000)
  })
})

