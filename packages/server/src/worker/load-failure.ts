/**
 * What a worker says when it cannot load its module: one message that keeps the place of a syntax
 * error (`file:line:column`, then the source line and a caret under the column), and the error
 * itself as data, so that the server's WorkerModuleError can carry it as its `cause`.
 *
 * Where the place comes from:
 * - a CommonJS module's syntax error has it at the top of its stack (`/app/w.cjs:3`, the line, the
 *   caret), as Node prints it;
 * - Node 20 reports a syntax error in an ES module loaded with `import()` without any place: the
 *   place lives in a hidden property that only Node's fatal-exception printer reads. `node --check
 *   FILE` prints it. It only parses the file (nothing of the user's runs) and costs one short
 *   process, spent only once loading has failed. It checks the worker module itself, not the
 *   modules it imports: for an error in one of those the message says so.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { toWireError } from '@forkd/protocol'
import type { LoadError } from '../ipc.js'

/** Where a syntax error is: the file, its line and column (from 1), the source line and the caret line. */
export interface CodeFrame {
  file: string
  line: number
  column: number
  source: string
  caret: string
}

/** Longest source line shown; a longer one (minified code) is cut to a window around the column. */
const maxSourceWidth = 160
/** `node --check` on one file: a bound in case the file system hangs. */
const checkTimeout = 10_000

/**
 * Reads Node's code frame from the top of a stack or of `node --check` output:
 * `FILE:LINE\nSOURCE\n   ^^^\n`. FILE may be a file: URL.
 */
export function parseCodeFrame(text: string): CodeFrame | undefined {
  const m = /^(.+):(\d+)\r?\n(.*)\r?\n([ \t]*)(\^+)[ \t]*(?:\r?\n|$)/.exec(text)
  if (m === null) return undefined
  let file = m[1]!
  if (file.startsWith('file:')) {
    try {
      file = fileURLToPath(file)
    } catch {
      // not a file URL after all: show it as it is
    }
  }
  return { file, line: Number(m[2]), column: m[4]!.length + 1, source: m[3]!, caret: m[4]! + m[5]! }
}

/** The frame's two lines, indented, the source cut to a window around the column when too long. */
function frameLines(frame: CodeFrame): string {
  let { source, caret } = frame
  if (source.length > maxSourceWidth) {
    const start = Math.max(0, Math.min(frame.column - 1 - maxSourceWidth / 2, source.length - maxSourceWidth))
    source = (start > 0 ? '…' : '') + source.slice(start, start + maxSourceWidth) + (start + maxSourceWidth < source.length ? '…' : '')
    caret = (start > 0 ? ' ' : '') + caret.slice(start)
  }
  return `\n    ${source}\n    ${caret}`
}

/** Runs `node --check` on the module file; its code frame when it finds the same syntax error. */
function checkSyntax(moduleUrl: string, error: Error): CodeFrame | undefined {
  if (!moduleUrl.startsWith('file:') || !/\.(?:m|c)?js$/.test(moduleUrl)) return undefined
  const result = spawnSync(process.execPath, ['--check', fileURLToPath(moduleUrl)], {
    encoding: 'utf8', timeout: checkTimeout, stdio: ['ignore', 'ignore', 'pipe'], env: process.env,
  })
  if (result.status === 0 || typeof result.stderr !== 'string') return undefined
  // The same error, not another one found in a file that changed meanwhile.
  if (!result.stderr.includes(`${error.name}: ${error.message}`)) return undefined
  return parseCodeFrame(result.stderr)
}

/**
 * The message and the error data a worker reports when `import(moduleUrl)` threw `thrown`:
 * `cannot import worker module URL: MESSAGE`, and for a syntax error
 * `...: SyntaxError: MESSAGE at FILE:LINE:COLUMN` followed by the source line and the caret.
 */
export function describeImportFailure(thrown: unknown, moduleUrl: string): { message: string; error: LoadError } {
  const error = toLoadError(thrown)
  const head = `cannot import worker module ${moduleUrl}`
  if (!(thrown instanceof Error) || thrown.name !== 'SyntaxError' || typeof thrown.stack !== 'string')
    return { message: `${head}: ${error.message}`, error }
  const frame = parseCodeFrame(thrown.stack) ?? checkSyntax(moduleUrl, thrown)
  if (frame === undefined) {
    // A syntax error without a place (a module the worker module imports, in Node 20): say that much.
    const where = /\.(?:m|c)?js$/.test(moduleUrl) ? ' (in a module it imports: node --check FILE shows where)' : ''
    return { message: `${head}: SyntaxError: ${thrown.message}${where}`, error }
  }
  return { message: `${head}: SyntaxError: ${thrown.message} at ${frame.file}:${frame.line}:${frame.column}${frameLines(frame)}`, error }
}

/** The thrown value as the data that crosses IPC: name, message, code and stack. */
export function toLoadError(thrown: unknown): LoadError {
  const wire = toWireError(thrown, 'throw')
  const error: LoadError = { name: wire.name, message: wire.message }
  if (wire.code !== undefined) error.code = wire.code
  if (wire.stack !== undefined) error.stack = wire.stack
  return error
}
