import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Server, WorkerModuleError } from '@forkd/server'
import { fixture, quietLogger, tempDir, workerChildren } from '../support/harness.js'

describe('Server.start with a bad worker module', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const attempt = async (worker: string) => {
    const d = tempDir()
    dirs.push(d)
    const listen = join(d, 's.sock')
    const error = await Server.start({ listen, worker, logger: quietLogger }).catch((e: unknown) => e)
    return { error: error as WorkerModuleError, listen }
  }

  const cases: [string, string, RegExp][] = [
    ['a missing file', join('/tmp', 'fd-no-such-dir', 'worker.mjs'), /worker module \/tmp\/fd-no-such-dir\/worker.mjs: no such file/],
    ['a module whose default export is not a worker', fixture('bad-export-worker.mjs'), /invalid worker module .*bad-export-worker\.mjs: interface must be a map of functions or one function/],
    ['a module that fails to import', fixture('import-error-worker.mjs'), /cannot import worker module .*import-error-worker\.mjs: .*forkd-no-such-package-for-tests/],
  ]

  it.each(cases)('rejects %s with WorkerModuleError naming the path and the problem', async (_what, worker, message) => {
    const { error, listen } = await attempt(worker)
    expect(error).toBeInstanceOf(WorkerModuleError)
    expect(error.code).toBe('FORKD_ERR_WORKER_MODULE')
    expect(error.message).toMatch(message)
    // Nothing was bound and no worker process outlived the failed start.
    expect(existsSync(listen)).toBe(false)
    expect(workerChildren()).toEqual([])
  })
})
