import { spawn } from 'node:child_process'
import { chmodSync, statSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'

const asRoot = process.getuid?.() === 0

/** Connects to `path` as the OS user nobody; resolves with `connected` or the error code. */
function connectAsNobody(path: string): Promise<string> {
  const script = `require('node:net').connect(${JSON.stringify(path)})
    .on('connect', function () { console.log('connected'); this.destroy() })
    .on('error', (e) => console.log(e.code))`
  const child = spawn('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`runuser exited with ${code}: ${out}`))))
  })
}

describe.skipIf(!asRoot)('socket permissions', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('refuses another OS user with EACCES under the default mode 0o600', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1 })
    // The folder must be traversable, so that only the socket's own mode can refuse nobody.
    chmodSync(env.dir, 0o755)
    expect(statSync(env.path).mode & 0o777).toBe(0o600)
    expect(await connectAsNobody(env.path)).toBe('EACCES')
    expect(env.server.status()).toMatchObject({ active: 0, pending: 0 })
  })

  it('lets another OS user connect when socketMode allows it (the control for the test above)', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1, socketMode: 0o666 })
    chmodSync(env.dir, 0o755)
    expect(statSync(env.path).mode & 0o777).toBe(0o666)
    expect(await connectAsNobody(env.path)).toBe('connected')
    // The connection reached a worker, which exits when nobody hangs up.
    await waitFor(() => env!.server.status().exited >= 1, 'the worker nobody reached to exit')
  })
})
