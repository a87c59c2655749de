/**
 * The packages as a user gets them: `npm pack` of every workspace package, `npm install` of those
 * tarballs (and nothing from this repository) into an empty app in a temporary folder, and there a
 * plain-JavaScript worker and client, a CommonJS client, a TypeScript worker and client type-checked
 * under `moduleResolution` node16 and bundler, and the `forkd` command.
 *
 * Packs the built dist folders as they are: `npm test` builds first (`tsc -b`). The install uses
 * npm's cache where it can (`--prefer-offline`); typescript and @types/node are installed at the
 * versions this repository uses, so they come from the cache `npm ci` filled.
 */
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processesTagged, uniqueTag, killTagged } from '../support/cli.js'
import { tempDir, waitFor } from '../support/harness.js'
import { cleanEnv, ok, packWorkspaces, repoVersion, run as runIn, type PackResult, type RunResult } from '../support/tarballs.js'

/** tsc with its lib check takes 7 s on a quiet machine, 20-30 s on a loaded one. */
const tscTimeout = 120_000

/** Every process this file starts carries it, so the end can prove none survived. */
const tag = uniqueTag()
const env = cleanEnv(tag)
const run = (command: string, args: string[], cwd: string): Promise<RunResult> => runIn(command, args, cwd, env)

const app = {
  'package.json': JSON.stringify({
    name: 'forkd-packaging-app',
    private: true,
    type: 'module',
    // What the README's install section recommends: forkd never loads cbor-extract, so skip its build.
    allowScripts: { 'cbor-extract': false },
  }),
  'worker.mjs': `import { defineWorker } from 'forkd/server'
export default defineWorker({ interface: { add: (a, b) => a + b, pid: () => process.pid } })
`,
  'main.mjs': `import { Client, Server } from 'forkd'
const path = process.argv[2]
const server = await Server.start({ listen: path, worker: new URL('./worker.mjs', import.meta.url), spares: 1 })
const client = new Client({ connect: path, minWorkers: 1 })
const c = await client.checkout()
try {
  console.log(JSON.stringify({ sum: await c.add(2, 3), workerPid: await c.pid(), reportedPid: c.worker.pid, mainPid: process.pid }))
} finally {
  c.release()
}
await client.close()
await server.close()
`,
  // CommonJS, worker and client: require() of the ESM packages (Node 20.19+ and 22.12+).
  'worker.cjs': `const { defineWorker } = require('forkd/server')
module.exports = defineWorker({ interface: { add: (a, b) => a + b } })
`,
  'main.cjs': `const { Client, Server } = require('forkd')
const { join } = require('node:path')
async function main() {
  const path = process.argv[2]
  const server = await Server.start({ listen: path, worker: join(__dirname, 'worker.cjs'), spares: 1 })
  const client = new Client({ connect: path, minWorkers: 1 })
  const c = await client.checkout()
  try {
    console.log(JSON.stringify({ sum: await c.add(40, 2) }))
  } finally {
    c.release()
  }
  await client.close()
  await server.close()
}
main().catch((error) => { console.error(error); process.exit(1) })
`,
  'src/worker.ts': `import { defineWorker } from 'forkd/server'
export default defineWorker({
  interface: {
    add: (a: number, b: number): number => a + b,
    greet: async (name: string): Promise<string> => \`hello \${name}\`,
  },
})
`,
  'src/main.ts': `import { Client, Server, WorkerError } from 'forkd'
import type worker from './worker.js'
const path = process.argv[2]!
const server = await Server.start({ listen: path, worker: new URL('./worker.js', import.meta.url), spares: 1 })
const client = new Client<typeof worker>({ connect: path, minWorkers: 1 })
const c = await client.checkout()
try {
  const sum: number = await c.add(2, 3)
  const greeting: string = await c.greet('ts')
  console.log(JSON.stringify({ sum, greeting, workerErrorIsAClass: typeof WorkerError === 'function' }))
} finally {
  c.release()
}
await client.close()
await server.close()
`,
  'bad/bad.ts': `import { Client } from '@forkd/client'
import type worker from '../src/worker.js'
const client = new Client<typeof worker>({ connect: '/tmp/never.sock' })
const c = await client.checkout()
await c.hsah('secret')
const wrong: string = await c.add(1, 2)
`,
  'tsconfig.node16.json': JSON.stringify({
    compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: ['node'], outDir: 'out', rootDir: 'src', skipLibCheck: false },
    include: ['src'],
  }),
  // Lib checks are the slow part of tsc (@types/node): done once, in the node16 build above.
  'tsconfig.bundler.json': JSON.stringify({
    compilerOptions: { strict: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', types: ['node'], noEmit: true, skipLibCheck: true },
    include: ['src', 'bad'],
  }),
  'tsconfig.bad.json': JSON.stringify({
    compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: ['node'], noEmit: true, skipLibCheck: true },
    include: ['bad', 'src'],
  }),
}

/** Whether this Node can require() an ES module without a flag (20.19+, 22.12+, 23+). */
function hasRequireEsm(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  return major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19)
}

describe('the packages installed from their tarballs into an empty app', () => {
  let dir = ''
  let appDir = ''
  let packed: PackResult[] = []
  const tsc = () => join(appDir, 'node_modules', 'typescript', 'bin', 'tsc')

  beforeAll(async () => {
    dir = tempDir()
    const tarballs = join(dir, 'tarballs')
    mkdirSync(tarballs)
    packed = await packWorkspaces(tarballs, env)
    appDir = join(dir, 'app')
    for (const [file, text] of Object.entries(app)) {
      mkdirSync(join(appDir, file, '..'), { recursive: true })
      writeFileSync(join(appDir, file), text)
    }
    const startedAt = Date.now()
    await ok(run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => join(tarballs, p.filename)),
      `typescript@${repoVersion('typescript')}`, `@types/node@${repoVersion('@types/node')}`], appDir), 'npm install of the tarballs')
    // Shown in the test output: the install is most of this file's run time.
    console.info(`npm install of ${packed.length} tarballs + typescript + @types/node: ${Date.now() - startedAt} ms`)
  }, 120_000)

  afterAll(async () => {
    // The apps close their servers; a failed one must not leave a worker behind either.
    try {
      await waitFor(() => processesTagged(tag).length === 0, 'every process of the packaged apps to exit')
    } finally {
      killTagged(tag)
      if (dir) rmSync(dir, { recursive: true, force: true })
    }
  })

  it('packs the four packages, each with only dist, README.md, LICENSE and package.json', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(['@forkd/client', '@forkd/protocol', '@forkd/server', 'forkd'])
    for (const p of packed) {
      const files = p.files.map((f) => f.path)
      expect(files, p.name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']))
      expect(files.filter((f) => !/^(LICENSE|README\.md|package\.json|dist\/.+\.(js|d\.ts|js\.map))$/.test(f)), p.name).toEqual([])
    }
  })

  it('installs real copies, not links into the repository, and every dependency resolves', async () => {
    for (const name of ['forkd', '@forkd/client', '@forkd/server', '@forkd/protocol']) {
      const stat = lstatSync(join(appDir, 'node_modules', name))
      expect(stat.isSymbolicLink(), name).toBe(false)
      expect(stat.isDirectory(), name).toBe(true)
    }
    // npm ls exits non-zero for a missing or invalid dependency anywhere in the tree.
    const ls = await run('npm', ['ls', '--all', '--json'], appDir)
    expect(ls.status, ls.stderr).toBe(0)
    const tree = JSON.parse(ls.stdout) as { dependencies: Record<string, { version: string; dependencies?: Record<string, { version: string }> }> }
    expect(tree.dependencies['forkd']!.dependencies).toMatchObject({ '@forkd/client': { version: '0.1.0' }, '@forkd/server': { version: '0.1.0' } })
    expect(readdirSync(join(appDir, 'node_modules', 'forkd', 'dist')).sort()).toContain('cli.js')
  })

  it('runs a plain-JavaScript worker and client: a real call in a worker process', async () => {
    const out = JSON.parse(await ok(run(process.execPath, ['main.mjs', join(dir, 'js.sock')], appDir), 'main.mjs')) as Record<string, number>
    expect(out.sum).toBe(5)
    expect(out.workerPid).toBe(out.reportedPid)
    expect(out.workerPid).not.toBe(out.mainPid)
  })

  it(hasRequireEsm() ? 'runs a CommonJS worker and client that require() forkd' : 'refuses require() on a Node without require(esm)', async () => {
    const result = await run(process.execPath, ['main.cjs', join(dir, 'cjs.sock')], appDir)
    if (hasRequireEsm()) {
      // No ExperimentalWarning either: from 20.19 on, Node stays silent about require(esm).
      expect(result.stderr).not.toMatch(/Warning/)
      expect(result.status, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toEqual({ sum: 42 })
    } else {
      expect(result.status).not.toBe(0)
      expect(result.stderr).toContain('ERR_REQUIRE_ESM')
    }
  })

  it('type-checks a TypeScript worker and client under strict node16 resolution, and the compiled app runs', async () => {
    expect(await ok(run(process.execPath, [tsc(), '-p', 'tsconfig.node16.json'], appDir), 'tsc node16')).toBe('')
    const out = JSON.parse(await ok(run(process.execPath, ['out/main.js', join(dir, 'ts.sock')], appDir), 'out/main.js')) as unknown
    expect(out).toEqual({ sum: 5, greeting: 'hello ts', workerErrorIsAClass: true })
  }, tscTimeout)

  /** tsc's error lines (path(line,col): error TSnnnn: ...) and its exit code. */
  async function typeErrors(project: string): Promise<{ status: number | null; errors: string[] }> {
    const result = await run(process.execPath, [tsc(), '-p', project], appDir)
    return { status: result.status, errors: result.stdout.trim().split('\n').filter((line) => /error TS\d+/.test(line)) }
  }
  // The checkout's type name is the client's business; that it carries the worker's interface is ours.
  const expectedErrors = [
    /^bad\/bad\.ts\(5,9\): error TS2339: Property 'hsah' does not exist on type '.*add: \(a: number, b: number\) => number/,
    /^bad\/bad\.ts\(6,7\): error TS2322: Type 'number' is not assignable to type 'string'\.$/,
  ]

  it('fails to compile, under node16 resolution, a call of a method the worker does not have, and a wrongly typed result', async () => {
    const { status, errors } = await typeErrors('tsconfig.bad.json')
    expect(status).toBe(2)
    expect(errors).toHaveLength(2)
    expectedErrors.forEach((pattern, i) => expect(errors[i]).toMatch(pattern))
  }, tscTimeout)

  it('type-checks the same app under bundler resolution, where the same two mistakes (and nothing else) fail', async () => {
    const { status, errors } = await typeErrors('tsconfig.bundler.json')
    expect(status).toBe(2)
    expect(errors).toHaveLength(2)
    expectedErrors.forEach((pattern, i) => expect(errors[i]).toMatch(pattern))
  }, tscTimeout)

  it('runs the forkd command through npx and through the umbrella package', async () => {
    const help = await run('npx', ['--no-install', 'forkd', '--help'], appDir)
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^Usage:\n {2}forkd serve /)
    const umbrella = await run(process.execPath, [join(appDir, 'node_modules', 'forkd', 'dist', 'cli.js'), '--help'], appDir)
    expect(umbrella.status).toBe(0)
    expect(umbrella.stdout).toBe(help.stdout)
  })
})
