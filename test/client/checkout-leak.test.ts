import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fork } from 'node:child_process'
import { fixture, startEnv, waitForExit, type TestEnv } from '../support/harness.js'

describe('a checkout garbage-collected without release', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('does not leak its worker: the worker is discarded and a warning names where the checkout was made', async () => {
    const child = fork(fixture('leak-checkout.mjs'), [env.path], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const report = await new Promise<{ pid: number; nextPid: number; warnings: { code: string; message: string }[] }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as never))
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)))
    })
    await new Promise((r) => child.once('exit', r))
    env.pids.add(report.pid).add(report.nextPid)
    expect(report.nextPid).not.toBe(report.pid)
    await waitForExit([report.pid])
    const leakWarnings = report.warnings.filter((w) => w.code === 'FORKD_WARN_CHECKOUT_LEAKED')
    expect(leakWarnings).toHaveLength(1)
    expect(leakWarnings[0]!.message).toContain('leak-checkout.mjs')
  })

  it('in production, is reported without a place first, and with the place once recording turned itself on', async () => {
    const child = fork(fixture('leak-checkout-twice.mjs'), [env.path], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const report = await new Promise<{ pids: number[]; trackSites: boolean; warnings: { code: string; message: string }[] }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as never))
      child.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)))
    })
    await new Promise((r) => child.once('exit', r))
    report.pids.forEach((p) => env.pids.add(p))
    expect(report.trackSites).toBe(false)
    const leakWarnings = report.warnings.filter((w) => w.code === 'FORKD_WARN_CHECKOUT_LEAKED')
    expect(leakWarnings).toHaveLength(2)
    expect(leakWarnings[0]!.message).toContain('the next such warning will name the place')
    expect(leakWarnings[1]!.message).toContain('leak-checkout-twice.mjs')
  })
})
