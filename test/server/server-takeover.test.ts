import { lstatSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Server } from '@forkd/server'
import { fixture, isAlive, quietLogger, tempDir, waitFor, waitForExit, workerChildren } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

const worker = fixture('plain-worker.mjs')

describe('Server takeover', () => {
  const servers: Server[] = []
  let dir = ''
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close({ drain: false })))
    rmSync(dir, { recursive: true, force: true })
    expect(workerChildren()).toEqual([])
  })

  it('makes the old server stop accepting and close once its active workers are gone, while the new one serves the path', async () => {
    dir = tempDir()
    const path = join(dir, 's.sock')
    const old = await Server.start({ listen: path, worker, logger: quietLogger, spares: 1 })
    servers.push(old)
    await waitFor(() => old.status().spares === 1, 'the old spare')
    const held = await connectRaw(path)
    await waitFor(() => old.status().spares === 1, 'the old replacement spare')
    const oldSparePids = workerChildren().filter((pid) => pid !== held.hello.pid)
    let replaced = false
    old.on('replaced', () => (replaced = true))

    const next = await Server.start({ listen: path, worker, logger: quietLogger, spares: 1 })
    servers.push(next)
    await waitFor(() => replaced, "the old server's 'replaced' event")
    expect(old.state).toBe('closing')

    // The old server's spares exit; its active worker keeps serving its client, now told to retire.
    await waitForExit(oldSparePids)
    expect(await held.call('echo', 'still served')).toEqual([2, 1, 'still served'])
    expect(await held.waitFor((m) => Array.isArray(m) && m[0] === 9)).toEqual([9, 'server-replaced'])

    // New connections reach the new server.
    const fresh = await connectRaw(path)
    expect(fresh.hello.pid).not.toBe(held.hello.pid)
    expect(next.status().active).toBe(1)
    expect(old.status().active).toBe(1)

    // Once the held connection ends, the old server has no worker left and closes.
    held.ws.close()
    await old.closed
    expect(old.state).toBe('closed')
    expect(isAlive(held.hello.pid)).toBe(false)
    // The old server did not unlink the path it no longer owns.
    expect(lstatSync(path).isSocket()).toBe(true)
    expect(await fresh.call('echo', 'new server')).toEqual([2, 1, 'new server'])
    fresh.ws.close()
  })
})
