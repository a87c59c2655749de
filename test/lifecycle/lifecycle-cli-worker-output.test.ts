/**
 * Issue 4: under `forkd serve`, worker output reaches the server's log, one line per record,
 * prefixed with the worker's name, number and pid.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { tempDir, waitFor, workerChildren } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag, killTagged } from '../support/cli.js'

describe('forkd serve and worker output', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('writes each worker line to stderr as forkd-server:NAME[pid] LEVEL: forkd-worker:NAME(N)[pid] line', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const server = serveCli(path, 'output-worker.mjs', { env: { FORKD_TEST_RUN: tag }, args: ['--name', 'out', '--spares', '1'] })
    cleanups.push(() => {
      killTagged(tag)
    })
    await server.listening()
    const client = new Client({ connect: path, minWorkers: 1, maxWorkers: 1, timeout: 20_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout<{ interface: { print(text: string): boolean } }>()
    const { pid, id } = c.worker
    expect(workerChildren(server.pid)).toContain(pid)
    expect(await c.print('printed during a call')).toBe(true)
    c.release()

    const prefix = `forkd-server:out[${server.pid}]`
    const worker = `forkd-worker:out(${id})[${pid}]`
    await waitFor(() => server.stderr().includes(`${worker} printed during a call`), 'the printed line')
    const lines = server.stderr().split('\n')
    expect(lines).toContain(`${prefix} info: ${worker} hello from stdout {"worker":${id},"pid":${pid},"stream":"stdout"}`)
    expect(lines).toContain(`${prefix} warn: ${worker} hello from stderr {"worker":${id},"pid":${pid},"stream":"stderr"}`)
    expect(lines).toContain(`${prefix} info: ${worker} printed during a call {"worker":${id},"pid":${pid},"stream":"stdout"}`)

    await client.close()
    server.child.kill('SIGTERM')
    expect(await server.exited).toEqual({ code: 0, signal: null })
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })
})
