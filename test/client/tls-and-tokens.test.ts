/**
 * TCP with TLS and bearer tokens, end to end: real servers on loopback addresses, real workers
 * terminating TLS, a real client. The certificates are test-only fixtures (test/fixtures/tls, see
 * its README). A refused token or certificate is an AuthError that ends waiting checkouts at once,
 * well before their timeout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { AuthError, Client, ConnectError, TimeoutError, WorkerDiedError } from '@forkd/client'
import { Server } from '@forkd/server'
import { fixture, quietLogger, waitFor, workerChildren } from '../support/harness.js'

const tlsFile = (name: string) => fixture(`tls/${name}`)
const serverTls = { key: tlsFile('server-key.pem'), cert: tlsFile('server-cert.pem') }
const tokenA = 'token-a-0123456789abcdef'
const tokenB = 'token-b-0123456789abcdef'
/** Long enough that a fast refusal is clearly not the timeout. */
const timeout = 20_000

describe('TCP with TLS and tokens', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
    expect(workerChildren()).toEqual([])
  })

  async function start(host: string, options: Record<string, unknown>): Promise<{ server: Server; endpoint: string }> {
    const server = await Server.start({ listen: { host, port: 0 }, worker: fixture('echo-worker.mjs'), logger: quietLogger, spares: 1, ...options })
    cleanups.push(() => server.close({ drain: false }))
    return { server, endpoint: `${host}:${(server.address as { port: number }).port}` }
  }

  function client(options: ConstructorParameters<typeof Client>[0]): Client {
    const c = new Client({ minWorkers: 0, timeout, ...options })
    cleanups.push(() => c.close())
    return c
  }

  /** Checkout rejects with an AuthError, fast; returns it. */
  async function refused(c: Client): Promise<AuthError> {
    const started = performance.now()
    const error = await c.checkout().then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(AuthError)
    // Loose bound: the point is that the timeout (20 s) is not what ended the wait.
    expect(performance.now() - started).toBeLessThan(timeout / 2)
    return error as AuthError
  }

  it('refuses to start plain TCP without authentication unless insecure', async () => {
    await expect(Server.start({ listen: { host: '127.0.0.2', port: 0 }, worker: fixture('echo-worker.mjs'), logger: quietLogger }))
      .rejects.toThrow(/option "insecure" must be true to listen on TCP 127\.0\.0\.2:0 with no authentication/)
    expect(workerChildren()).toEqual([])
  })

  it('serves a client with the right token and refuses a wrong or missing one with AuthError, at once', async () => {
    const { endpoint } = await start('127.0.0.2', { auth: { tokens: [tokenA] } })
    const good = client({ connect: endpoint, auth: { token: tokenA } })
    const c = await good.checkout()
    expect(await c.echo('hi')).toBe('hi')
    c.release()

    const wrong = await refused(client({ connect: endpoint, auth: { token: tokenB } }))
    expect(wrong.code).toBe('FORKD_ERR_AUTH')
    expect(wrong.status).toBe(401)
    expect(wrong.message).toMatch(new RegExp(`forkd server at ${endpoint.replace(/\./g, '\\.')} refused the client's credentials \\(HTTP 401\\)`))
    const missing = await refused(client({ connect: endpoint }))
    expect(missing.status).toBe(401)
  })

  it('ends every waiting checkout with the AuthError when every endpoint refuses the token', async () => {
    const [a, b] = [await start('127.0.0.2', { auth: { tokens: [tokenA] } }), await start('127.0.0.3', { auth: { tokens: [tokenA] } })]
    const c = client({ connect: [a.endpoint, b.endpoint], auth: { token: tokenB }, maxWorkers: 4 })
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => c.checkout().then(() => 'served', (e: unknown) => e)))
    for (const r of results) expect(r).toBeInstanceOf(AuthError)
    expect(c.stats().pending).toBe(0)
    const rows = c.stats().endpoints
    expect(rows.map((r) => r.endpoint).sort()).toEqual([a.endpoint, b.endpoint].sort())
    for (const row of rows) expect(row.lastError).toBeInstanceOf(AuthError)
  })

  it('rotates tokens without losing a call: old and new accepted, then the old one removed', async () => {
    const { server, endpoint } = await start('127.0.0.2', { auth: { tokens: [tokenA] } })
    let current = tokenA
    const c = client({ connect: endpoint, auth: { token: () => current }, maxCheckouts: 1 })
    const call = async () => {
      const w = await c.checkout()
      try {
        return await w.echo(1)
      } finally {
        w.release()
      }
    }
    expect(await call()).toBe(1)
    server.reload({ auth: { tokens: [tokenA, tokenB] } })
    // Workers started before the reload knew only A; a client still sending A is served by all.
    for (let i = 0; i < 3; i++) expect(await call()).toBe(1)
    current = tokenB
    for (let i = 0; i < 3; i++) expect(await call()).toBe(1)
    server.reload({ auth: { tokens: [tokenB] } })
    for (let i = 0; i < 3; i++) expect(await call()).toBe(1)
    // A client left on the old token is now refused.
    expect((await refused(client({ connect: endpoint, auth: { token: tokenA } }))).status).toBe(401)
  })

  it('serves over TLS a client trusting the CA, with a token; refuses one that does not trust it', async () => {
    const { endpoint } = await start('127.0.0.3', { tls: serverTls, auth: { tokens: [tokenA] }, insecure: false })
    const good = client({ connect: endpoint, tls: { ca: tlsFile('ca-cert.pem') }, auth: { token: tokenA } })
    const c = await good.checkout()
    expect(await c.echo({ over: 'tls' })).toEqual({ over: 'tls' })
    c.release()

    const untrusting = await refused(client({ connect: endpoint, tls: { ca: tlsFile('other-ca-cert.pem') }, auth: { token: tokenA } }))
    expect(untrusting.status).toBeUndefined()
    expect(untrusting.message).toMatch(/TLS handshake with the forkd server at 127\.0\.0\.3:\d+ failed on a certificate/)
    const wrongName = await refused(client({ connect: endpoint, tls: { ca: tlsFile('ca-cert.pem'), servername: 'forkd.elsewhere' }, auth: { token: tokenA } }))
    expect(wrongName.message).toMatch(/failed on a certificate/)
  })

  it('mutual TLS: serves a client with a certificate from the CA, refuses one with none or from another CA', async () => {
    const { endpoint } = await start('127.0.0.2', { tls: { ...serverTls, ca: tlsFile('ca-cert.pem'), requestCert: true } })
    const ca = tlsFile('ca-cert.pem')
    const good = client({ connect: endpoint, tls: { ca, cert: tlsFile('client-cert.pem'), key: tlsFile('client-key.pem') } })
    const c = await good.checkout()
    expect(await c.add(2, 3)).toBe(5)
    c.release()

    await refused(client({ connect: endpoint, tls: { ca } }))
    await refused(client({ connect: endpoint, tls: { ca, cert: tlsFile('other-client-cert.pem'), key: tlsFile('other-client-key.pem') } }))
  })

  it('refuses a plaintext client on a TLS port cleanly (a ConnectError saying so, as the cause of the timeout)', async () => {
    const { endpoint } = await start('127.0.0.3', { tls: serverTls, auth: { tokens: [tokenA] } })
    const plain = client({ connect: endpoint, auth: { token: tokenA }, timeout: 1_500 })
    const error = await plain.checkout().then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).cause).toBeInstanceOf(ConnectError)
    expect((error as TimeoutError).cause).not.toBeInstanceOf(AuthError)
    expect(String(((error as TimeoutError).cause as Error).message)).toMatch(/HTTP 400|TLS/)
  })

  it('over TLS, reports a worker killed in a call as WorkerDiedError (no plaintext last words in the TLS stream)', async () => {
    const { endpoint } = await start('127.0.0.2', { tls: serverTls, auth: { tokens: [tokenA] } })
    const c = client({ connect: endpoint, tls: { ca: tlsFile('ca-cert.pem') }, auth: { token: tokenA } })
    const w = await c.checkout()
    const pid = await w.pid()
    const call = w.sleep(30_000).then(() => undefined, (e: unknown) => e)
    process.kill(pid, 'SIGKILL')
    const error = await call
    expect(error).toBeInstanceOf(WorkerDiedError)
    await waitFor(() => !workerChildren().includes(pid), `worker ${pid} gone`)
    // The next checkout gets a fresh worker over TLS.
    const next = await c.checkout()
    expect(await next.pid()).not.toBe(pid)
    next.release()
  })

  it('rejects bad tls and auth options with a TypeError naming the option', () => {
    expect(() => new Client({ connect: '127.0.0.2:1', tls: { ca: '/nonexistent/ca.pem' } })).toThrow(/option "tls.ca" must be .* readable PEM file \(cannot read \/nonexistent\/ca.pem: no such file\), got "\/nonexistent\/ca.pem"$/)
    expect(() => new Client({ connect: '127.0.0.2:1', tls: { cert: tlsFile('client-cert.pem') } })).toThrow(/option "tls.key" must be given with the other/)
    expect(() => new Client({ connect: '127.0.0.2:1', tls: { bogus: 1 } as never })).toThrow(/option "tls" must be .*unknown key "bogus"/)
    expect(() => new Client({ connect: '127.0.0.2:1', auth: { token: 'short' } })).toThrow(/option "auth.token" must be a bearer token of 16 to 4096 characters/)
    expect(() => new Client({ connect: '127.0.0.2:1', auth: { token: 'short' } })).not.toThrow(/short/)
    expect(() => new Client({ connect: '127.0.0.2:1', auth: tokenA as never })).toThrow(/option "auth" must be \{ token \}/)
  })
})
