/**
 * Workers written in TypeScript, run from source through tsx: `forkd serve --import tsx`,
 * `Server.start({ execArgv: ['--import', 'tsx'] })`, and the `new URL('./worker.js',
 * import.meta.url)` pitfall of an application that itself runs under tsx.
 */
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { processesTagged, runCli, serveCli, uniqueTag } from '../support/cli.js'
import { fixture, startEnv, tempDir, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import type worker from '../fixtures/ts-worker.js'

describe('workers written in TypeScript', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function folder(): string {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }

  it('are served by forkd serve --import tsx, with typed calls', async () => {
    const path = join(folder(), 's.sock')
    const tag = uniqueTag()
    const server = serveCli(path, 'ts-worker.ts', { env: { FORKD_TEST_RUN: tag }, args: ['--import', 'tsx', '--spares', '1'] })
    cleanups.push(async () => {
      server.kill()
      await server.exited
      await waitFor(() => processesTagged(tag).length === 0, 'the server and its workers to exit')
    })
    await server.listening()
    const { Client } = await import('@forkd/client')
    const client = new Client<typeof worker>({ connect: path, minWorkers: 0, timeout: 20_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    try {
      expect(await c.greet('ada')).toEqual({ text: 'hello ada', length: 9 })
      expect(await c.execArgv()).toEqual(['--import', 'tsx'])
      expect(workerChildren(server.pid)).toContain(await c.pid())
    } finally {
      c.release()
    }
    server.child.kill('SIGTERM')
    expect(await server.exited).toEqual({ code: 0, signal: null })
  })

  it('without --import tsx, fail to load, and forkd serve says which flag is missing', async () => {
    const path = join(folder(), 's.sock')
    const result = await runCli(['serve', '--listen', path, '--spares', '1', fixture('ts-worker.ts')], { timeout: 30_000 })
    expect(result.status).toBe(2)
    const module = fixture('ts-worker.ts')
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(
      `forkd: cannot import worker module file://${module}: Unknown file extension ".ts" for ${module} (a worker written in TypeScript needs a loader: add --import tsx)`)
  })

  it('are served by Server.start({ execArgv: [\'--import\', \'tsx\'] })', async () => {
    const env: TestEnv = await startEnv('ts-worker.ts', { execArgv: ['--import', 'tsx'], spares: 1 })
    cleanups.push(() => env.cleanup())
    const c = await env.client<typeof worker>({ minWorkers: 0, timeout: 20_000 }).checkout()
    env.pids.add(c.worker.pid)
    try {
      expect(await c.greet('grace')).toEqual({ text: 'hello grace', length: 11 })
      expect(await c.execArgv()).toEqual(['--import', 'tsx'])
    } finally {
      c.release()
    }
  })

  /** Runs test/fixtures/ts-main.ts from source under tsx, as `tsx main.ts` or `node --import tsx main.ts` would. */
  function runMain(mode: 'pitfall' | 'fixed'): Promise<Record<string, unknown>> {
    const path = join(folder(), 's.sock')
    const tag = uniqueTag()
    cleanups.push(() => waitFor(() => processesTagged(tag).length === 0, 'the application and its workers to exit'))
    const child = spawn(process.execPath, ['--import', 'tsx', fixture('ts-main.ts'), path, mode], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORKD_TEST_RUN: tag } })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    return new Promise((resolve, reject) =>
      child.once('close', (code) => (code === 0 ? resolve(JSON.parse(stdout) as Record<string, unknown>) : reject(new Error(`ts-main.ts exited ${code}: ${stdout}`)))))
  }

  it("make new URL('./worker.js', import.meta.url) point at a file that does not exist when the application runs from source", async () => {
    expect(await runMain('pitfall')).toEqual({
      error: 'WorkerModuleError',
      code: 'FORKD_ERR_WORKER_MODULE',
      message: `worker module ${fixture('ts-worker.js')}: no such file`,
    })
  })

  it('are found when the application picks ./worker.ts and --import tsx while it runs from source', async () => {
    expect(await runMain('fixed')).toEqual({ greeting: { text: 'hello ts', length: 8 }, workerExecArgv: ['--import', 'tsx'] })
  })
})
