/**
 * Worker connections over TCP have TCP keepalive on, with the client's `tcpKeepAlive` as the idle
 * time: a busy connection to a host that vanished (no FIN, no RST) is then found by the kernel's
 * probes even when its call has no timeout. Read from the kernel's own table (/proc/net/tcp),
 * whose timer column says "keepalive" and when the first probe is due.
 */
import { readFileSync } from 'node:fs'
import { createServer, connect, type Server as NetServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { warm } from '../support/harness.js'
import { serverGroup } from '../support/tcp-servers.js'

interface TcpRow { remote: string; state: string; timer: number; ticksLeft: number }

/** `0300007F:AF09` → `127.0.0.3:44809`. */
function address(hex: string): string {
  const [ip, port] = hex.split(':') as [string, string]
  const bytes = ip.match(/../g)!.map((b) => parseInt(b, 16)).reverse()
  return `${bytes.join('.')}:${parseInt(port, 16)}`
}

/** Established IPv4 TCP sockets of this machine whose remote end is `remote`. */
function socketsTo(remote: string): TcpRow[] {
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).filter(Boolean).map((line) => {
    const f = line.trim().split(/\s+/)
    const [timer, when] = f[5]!.split(':') as [string, string]
    return { remote: address(f[2]!), state: f[3]!, timer: parseInt(timer, 16), ticksLeft: parseInt(when, 16) }
  }).filter((r) => r.remote === remote && r.state === '01')
}

/** Timer kind 2 in /proc/net/tcp: the keepalive timer. */
const keepaliveTimer = 2

describe('worker connections over TCP', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('have TCP keepalive on, first probe after tcpKeepAlive of silence', async () => {
    const servers = serverGroup(cleanups)
    const server = await servers.start('127.0.0.3', 0)
    const client = new Client({ connect: server.endpoint, minWorkers: 2, tcpKeepAlive: 60_000 })
    cleanups.push(() => client.close())
    await warm(client, 2)
    // one of them busy in a call: keepalive covers busy connections too
    const c = await client.checkout()
    const call = c.sleep(300)

    const rows = socketsTo(server.endpoint)
    expect(rows).toHaveLength(2)
    for (const row of rows) {
      expect(row.timer).toBe(keepaliveTimer)
      // in clock ticks (100 a second): due within 60 s, far sooner than the system's default 2 hours
      expect(row.ticksLeft).toBeGreaterThan(0)
      expect(row.ticksLeft).toBeLessThanOrEqual(6_000)
    }
    expect(await call).toBe(300)
    c.release()
  })

  it('(control: a TCP connection without keepalive shows no such timer, so the check above can fail)', async () => {
    const listener: NetServer = createServer((s) => s.on('error', () => {}))
    cleanups.push(() => new Promise((r) => listener.close(r)))
    await new Promise<void>((r) => listener.listen(0, '127.0.0.3', r))
    const port = (listener.address() as { port: number }).port
    const socket = connect(port, '127.0.0.3')
    cleanups.push(() => socket.destroy())
    await new Promise((r) => socket.once('connect', r))
    const rows = socketsTo(`127.0.0.3:${port}`)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.timer).toBe(0)
  })
})
