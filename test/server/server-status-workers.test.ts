import { afterEach, describe, expect, it } from 'vitest'
import { fetchStatus, Server, type ServerStatus } from '@forkd/server'
import { fixture, startEnv, waitFor, type TestEnv } from '../support/harness.js'
import { family, parsePrometheus, sampleValue } from '../support/prometheus-text.js'

let env: TestEnv | undefined
afterEach(async () => {
  await env?.cleanup()
  env = undefined
}, 60_000)

interface Echo {
  sleep(ms: number): Promise<number>
  pid(): number
  echo(x: unknown): unknown
}

/** Generous bounds: these tests start several processes, and the machine may be loaded. */
const slow = { timeout: 120_000 }
const waitLong = 60_000

const statusOf = async (path: string) => (await fetchStatus(path)) as unknown as ServerStatus

describe('server status: per-worker rows', slow, () => {
  it('shows a busy worker with its pid, state, RSS, calls served and the running call', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const client = env.client<Echo>()
    const c = await client.checkout()
    const pid = await c.pid()
    env.pids.add(pid)
    await c.echo(1)
    // Settles when cleanup kills the worker.
    void c.sleep(60_000).catch(() => undefined)
    // The first status asks every worker for a fresh report; a later one shows it.
    const row = await waitFor(async () => {
      const status = await statusOf(env!.path)
      return status.workers.find((w) => w.pid === pid && w.call?.method === 'sleep')
    }, 'a status row showing the call to sleep', waitLong)
    expect(row).toMatchObject({ state: 'active', calls: 3, status: false })
    expect(row.id).toBeGreaterThanOrEqual(1)
    expect(row.rss).toBeGreaterThan(10 * 1024 * 1024)
    expect(row.age).toBeGreaterThan(0)
    expect(row.call!.running).toBeGreaterThanOrEqual(0)
    expect(row.call!.running).toBeLessThan(60_000)
    // The status connection itself is served by a worker, marked as such.
    const status = await statusOf(env.path)
    expect(status.workers.some((w) => w.status && w.state === 'active')).toBe(true)
    expect(status.workers.filter((w) => w.state === 'spare').every((w) => w.calls === 0 && w.call === null)).toBe(true)
    c.release(new Error('done with this worker'))
  })

  it('keeps the calls of exited workers in the total', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const client = env.client<Echo>({ maxWorkers: 1 })
    for (let i = 0; i < 3; i++) {
      const c = await client.checkout()
      env.pids.add(await c.pid())
      await c.echo(i)
      // A release with an error retires the worker: its process exits with its calls counted.
      c.release(new Error('retire'))
      await waitFor(() => env!.server.status().exited >= i + 1, `worker ${i + 1} to exit`, waitLong)
    }
    expect(env.server.status().calls).toBe(6)
  })
})

describe('server metrics endpoint', slow, () => {
  it('answers GET /metrics in Prometheus text while every worker is busy', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1, maxWorkers: 2, metrics: { port: 0 } })
    const address = env.server.metricsAddress!
    expect(address.host).toBe('127.0.0.1')
    expect(address.port).toBeGreaterThan(0)
    const client = env.client<Echo>({ maxWorkers: 2 })
    const checkouts = await Promise.all([client.checkout(), client.checkout()])
    const pids = await Promise.all(checkouts.map((c) => c.pid()))
    for (const pid of pids) env.pids.add(pid)
    // They settle when cleanup kills the workers.
    for (const c of checkouts) void c.sleep(60_000).catch(() => undefined)
    const url = `http://127.0.0.1:${address.port}/metrics`
    const families = await waitFor(async () => {
      const res = await fetch(url)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      const parsed = parsePrometheus(await res.text())
      return family(parsed, 'forkd_worker_call_running_seconds').metrics.length === 2 ? parsed : undefined
    }, 'both busy workers in /metrics', waitLong)
    expect(sampleValue(families, 'forkd_workers', { state: 'active' })).toBe(2)
    for (const pid of pids) {
      expect(sampleValue(families, 'forkd_worker_call_running_seconds', { pid: String(pid), method: 'sleep' })).toBeGreaterThanOrEqual(0)
      expect(sampleValue(families, 'forkd_worker_calls_total', { pid: String(pid) })).toBe(2)
      expect(sampleValue(families, 'forkd_worker_resident_memory_bytes', { pid: String(pid) })).toBeGreaterThan(10 * 1024 * 1024)
    }
    expect(sampleValue(families, 'forkd_workers_started_total')).toBe(env.server.status().started)
    expect(sampleValue(families, 'forkd_server_info', { version: env.server.status().version })).toBe(1)
    expect((await fetch(`http://127.0.0.1:${address.port}/other`)).status).toBe(404)
    expect((await fetch(url, { method: 'POST' })).status).toBe(405)
    for (const c of checkouts) c.release(new Error('done'))
  })

  it('refuses an address another host could reach, and bad ports', async () => {
    const base = { listen: '/tmp/fd-never.sock', worker: fixture('echo-worker.mjs') }
    await expect(Server.start({ ...base, metrics: { host: '0.0.0.0', port: 9464 } })).rejects.toThrow(
      'forkd Server: option "metrics.host" must be a loopback address (127.0.0.1, 127.x.y.z, ::1 or localhost): /metrics has no authentication, got "0.0.0.0"')
    await expect(Server.start({ ...base, metrics: { port: 70000 } })).rejects.toThrow('option "metrics.port" must be an integer from 0 to 65535, got 70000')
    await expect(Server.start({ ...base, metrics: { port: 1, path: '/x' } as never })).rejects.toThrow(TypeError)
  })

  it('closes the endpoint with the server', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1, metrics: { host: '127.0.0.2', port: 0 } })
    const { host, port } = env.server.metricsAddress!
    expect(host).toBe('127.0.0.2')
    expect((await fetch(`http://${host}:${port}/metrics`)).status).toBe(200)
    await env.server.close()
    await expect(fetch(`http://${host}:${port}/metrics`)).rejects.toThrow('fetch failed')
  })
})
