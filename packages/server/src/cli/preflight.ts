/**
 * Checks of the worker's Node flags before any worker starts. A worker whose `--import` module is
 * missing dies before it can say hello, again and again, with back-off; the command line is the
 * place to say so once.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { UsageError } from './usage-error.js'

/**
 * Throws a UsageError when an `--import` module cannot be found from `cwd`, where the workers
 * resolve it: a relative or absolute path that does not exist, or a package that is not installed.
 * A package that exists but only answers `import` (not `require`) is given the benefit of the doubt.
 */
export function checkImports(specifiers: readonly string[], cwd = process.cwd()): void {
  const requireFromCwd = createRequire(join(cwd, 'noop.js'))
  for (const specifier of specifiers) {
    if (specifier.startsWith('file:') || specifier.startsWith('.') || isAbsolute(specifier)) {
      const path = specifier.startsWith('file:') ? fileURLToPath(specifier) : resolve(cwd, specifier)
      if (!existsSync(path)) throw new UsageError(`--import ${specifier}: no such file ${path}`, 'serve')
      continue
    }
    try {
      requireFromCwd.resolve(specifier)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND')
        throw new UsageError(`--import ${specifier}: cannot find package "${specifier}" from ${cwd} (is it installed?)`, 'serve')
    }
  }
}
