import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { Server, WorkerModuleError } from '@forkd/server'
import { fixture, quietLogger, serverLog, tempDir, workerChildren } from '../support/harness.js'

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
    ['a module whose interface has a reserved method name', fixture('reserved-name-worker.mjs'),
      /^invalid worker module file:\/\/.*reserved-name-worker\.mjs: interface\.release: "release" is reserved: a checkout has its own c\.release, so clients could never call this method; rename it \(reserved: call, release, /],
  ]

  it('keeps the file, line, column, source line and caret of a syntax error in an ES module, with the error as its cause', async () => {
    const worker = fixture('syntax-error-worker.mjs')
    const { error } = await attempt(worker)
    expect(error).toBeInstanceOf(WorkerModuleError)
    expect(error.message).toBe(`cannot import worker module ${pathToFileURL(worker).href}: SyntaxError: Unexpected token '*' at ${worker}:6:34\n` +
      '      interface: { double: (x) => x +* 2 },\n' +
      '                                     ^')
    expect(error.cause).toBeInstanceOf(Error)
    expect(error.cause).toMatchObject({ name: 'SyntaxError', message: "Unexpected token '*'", stack: expect.stringContaining("SyntaxError: Unexpected token '*'") })
  })

  it('keeps the place of a syntax error in a CommonJS module too', async () => {
    const worker = fixture('syntax-error-worker.cjs')
    const { error } = await attempt(worker)
    expect(error.message).toBe(`cannot import worker module ${pathToFileURL(worker).href}: SyntaxError: missing ) after argument list at ${worker}:6:1\n` +
      '    }\n' +
      '    ^')
    expect(error.cause).toMatchObject({ name: 'SyntaxError', message: 'missing ) after argument list' })
  })

  it('says that a syntax error without a place is in a module the worker module imports', async () => {
    const worker = fixture('imports-syntax-error-worker.mjs')
    const { error } = await attempt(worker)
    expect(error.message).toBe(`cannot import worker module ${pathToFileURL(worker).href}: SyntaxError: Unexpected token '*' ` +
      '(in a module it imports: node --check FILE shows where)')
    expect(error.cause).toMatchObject({ name: 'SyntaxError' })
  })

  it('gives an import error\'s code in its cause', async () => {
    const { error } = await attempt(fixture('import-error-worker.mjs'))
    expect(error.cause).toMatchObject({ name: 'Error', code: 'ERR_MODULE_NOT_FOUND', message: expect.stringContaining('forkd-no-such-package-for-tests') })
  })

  it('reports a load failure once: no worker output, no log record of its own', async () => {
    const before = serverLog.length
    const { error } = await attempt(fixture('syntax-error-worker.mjs'))
    expect(error).toBeInstanceOf(WorkerModuleError)
    const records = serverLog.slice(before)
    expect(records.filter((r) => r.message.includes('Unexpected token'))).toEqual([])
    expect(records.filter((r) => r.level === 'warn' || r.level === 'error')).toEqual([])
  })

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
