/**
 * Issue 12 (1): a server SIGKILLed while its spares are still starting leaves no spare behind, even
 * when it dies while a worker's own imports load (before the worker could listen for the loss of
 * its IPC channel) and the module keeps a handle open from setup.
 */
import { fork } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, tempDir, waitFor } from '../support/harness.js'
import { processesTagged, uniqueTag, killTagged } from '../support/cli.js'

/** The children of `pid`'s main thread, from the kernel's own list (cheap enough to poll often). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

describe('spares of a SIGKILLed server', () => {
  it('exit however early the server dies: 5 rounds, the server killed as soon as its first worker exists', { timeout: 120_000 }, async () => {
    for (let round = 1; round <= 5; round++) {
      const dir = tempDir()
      const tag = uniqueTag()
      const server = fork(fixture('serve.mjs'), [join(dir, 's.sock'), fixture('interval-setup-worker.mjs')], {
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        env: { ...process.env, FORKD_TEST_RUN: tag },
      })
      try {
        let first: number | undefined
        const deadline = Date.now() + 20_000
        while (first === undefined && Date.now() < deadline) {
          first = childrenOf(server.pid!)[0]
          if (first === undefined) await new Promise((r) => setImmediate(r))
        }
        expect(first, `round ${round}: the server started a worker`).toBeTypeOf('number')
        server.kill('SIGKILL')
        // Every process of the round is gone: the server, and each worker it had started.
        await waitFor(() => processesTagged(tag).length === 0, `round ${round}: the spares of the killed server to exit`, 15_000)
      } finally {
        killTagged(tag)
        if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
        rmSync(dir, { recursive: true, force: true })
      }
    }
  })
})
