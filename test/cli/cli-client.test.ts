import { afterEach, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Client } from '@forkd/client'
import { fixture, tempDir, waitFor, waitForExit } from '../support/harness.js'

const cli = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url))

describe('forkd serve', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('runs a server in the foreground that a client uses, and exits 0 on SIGTERM', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const server: ChildProcess = spawn(process.execPath, [cli, 'serve', '--listen', path, '--name', 'cli', fixture('echo-worker.mjs')], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    server.stderr!.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
    cleanups.push(() => server.exitCode === null && server.kill('SIGKILL'))
    const client = new Client({ connect: path, name: 'cli-client', timeout: 20_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    expect(await c.add(2, 3)).toBe(5)
    expect(await c.pid()).toBe(c.worker.pid)
    const pid = c.worker.pid
    c.release()
    await client.close()
    await waitForExit([pid])
    server.kill('SIGTERM')
    expect(await exited).toBe(0)
    await waitFor(() => stderr.includes('forkd-server:cli'), 'the server log to name the server')
  })
})
