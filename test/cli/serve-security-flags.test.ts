/**
 * `forkd serve` on TCP with --auth-token-file and --tls-*, and `forkd status` reaching it with the
 * same credentials: the built CLI in real processes on a loopback address. A token file is read
 * again on SIGHUP, so tokens rotate without a restart.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { processesTagged, runCli, serveCli, uniqueTag, type ServeProcess } from '../support/cli.js'
import { fixture, tempDir, waitFor, waitForExit } from '../support/harness.js'

const tokenA = 'cli-token-a-0123456789'
const tokenB = 'cli-token-b-0123456789'

describe('forkd serve on TCP with credentials', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function files(): { dir: string; tokens: string } {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const tokens = join(dir, 'tokens')
    writeFileSync(tokens, `# accepted tokens\n${tokenA}\n`)
    return { dir, tokens }
  }

  async function serve(args: string[]): Promise<{ server: ServeProcess; target: string }> {
    const tag = uniqueTag()
    const server = serveCli('127.0.0.3:0', 'echo-worker.mjs', { args: ['--spares', '1', ...args], env: { FORKD_TEST_RUN: tag } })
    cleanups.push(async () => {
      server.kill()
      await server.exited
      const left = processesTagged(tag)
      await waitForExit(left)
      expect(processesTagged(tag)).toEqual([])
    })
    await server.listening()
    const target = /listening on (127\.0\.0\.3:\d+)/.exec(server.stderr())![1]!
    return { server, target }
  }

  it('refuses plain TCP without authentication, saying which flags would do', async () => {
    const result = await runCli(['serve', '--listen', '127.0.0.3:0', fixture('echo-worker.mjs')])
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('forkd: refusing to listen on TCP 127.0.0.3:0 with no authentication: anyone who reaches the port could run worker code. ' +
      'Add --auth-token-file PATH (bearer tokens), or --tls-request-cert with --tls-ca (mutual TLS); or --insecure to allow it anyway')
  })

  it('refuses tokens in clear text on a non-loopback address, and a token file that cannot be read', async () => {
    const { tokens } = files()
    const clear = await runCli(['serve', '--listen', '192.0.2.1:7400', '--auth-token-file', tokens, fixture('echo-worker.mjs')])
    expect(clear.status).toBe(2)
    expect(clear.stderr).toContain('refusing bearer tokens in clear text on TCP 192.0.2.1:7400, which is not a loopback address: add --tls-key and --tls-cert')
    const missing = await runCli(['serve', '--listen', '127.0.0.3:0', '--auth-token-file', '/nonexistent/tokens', fixture('echo-worker.mjs')])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toContain('forkd: --auth-token-file /nonexistent/tokens: no such file')
  })

  it('serves status to the token of the file, refuses others, and takes a rotated file on SIGHUP', async () => {
    const { tokens, dir } = files()
    const { server, target } = await serve(['--auth-token-file', tokens])
    const ok = await runCli(['status', target, '--auth-token-file', tokens])
    expect(ok.status).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ pid: server.pid })
    const none = await runCli(['status', target])
    expect(none.status).toBe(1)
    expect(none.stderr).toMatch(/HTTP 401/)

    const newTokens = join(dir, 'new-tokens')
    writeFileSync(newTokens, `${tokenB}\n`)
    writeFileSync(tokens, `${tokenB}\n`)
    server.child.kill('SIGHUP')
    // The spares started after the reload know only B.
    await waitFor(async () => (await runCli(['status', target, '--auth-token-file', newTokens])).status === 0, 'status with the new token')
    writeFileSync(newTokens, `${tokenA}\n`)
    await waitFor(async () => (await runCli(['status', target, '--auth-token-file', newTokens])).status === 1, 'the old token refused')
  })

  it('serves over TLS with a token; status needs --tls-ca', async () => {
    const { tokens } = files()
    const { server, target } = await serve(['--tls-key', fixture('tls/server-key.pem'), '--tls-cert', fixture('tls/server-cert.pem'), '--auth-token-file', tokens])
    expect(server.stderr()).toMatch(/listening on 127\.0\.0\.3:\d+ \(TLS\)/)
    const ok = await runCli(['status', target, '--tls-ca', fixture('tls/ca-cert.pem'), '--auth-token-file', tokens])
    expect(ok.status).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ pid: server.pid })
    const untrusted = await runCli(['status', target, '--tls', '--auth-token-file', tokens])
    expect(untrusted.status).toBe(1)
    expect(untrusted.stderr).toMatch(/certificate/i)
  })
})
