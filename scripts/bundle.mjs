/**
 * Compiles the entry points that every worker process loads into a few ES module files, next to
 * the files tsc wrote (run after `tsc -b`; `npm run build` does both):
 *
 *   packages/protocol/dist/{index,internal,ws}.bundle.js   the protocol's three exports, sharing
 *                                                          their modules through chunks/
 *   packages/server/dist/index.bundle.js                   @forkd/server's main export, which a
 *                                                          worker module imports too
 *   packages/server/dist/worker/runtime.js                 what a worker process loads after its
 *                                                          first line (worker/entry.ts)
 *
 * Why: on Node 20 the ES module loader costs about half a millisecond of CPU per file it resolves,
 * reads, links and evaluates, and a worker's start went through some 80 of them; a fresh worker per
 * checkout pays that every time (docs/performance.md has the figures). esbuild does the bundling:
 * it follows the import graph, keeps the modules' evaluation order, and maps the result back to
 * the TypeScript sources through the source maps tsc wrote.
 *
 * What stays outside a bundle, and why:
 * - @forkd/protocol, for the server's bundles: a class the server re-exports (ProtocolError,
 *   ForkdError) stays the very class @forkd/protocol and @forkd/client export.
 * - ws and cbor-x: the protocol loads them with require() (protocol/src/commonjs.ts), so the versions installed next to forkd are the ones that run, and
 *   an update of either needs no forkd build.
 *
 * Each bundle sits in the folder of the file it starts from, so the relative URLs in the code
 * (`new URL('./worker/entry.js', import.meta.url)`, `../package.json`) still point where they did.
 */
import { build } from 'esbuild'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packages = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages')

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // two modules may declare the same name; esbuild then renames one, and a class's `name` (an
  // error's `name`, what stack traces and logs print) must stay what the source says
  keepNames: true,
  logLevel: 'warning',
}

const protocol = join(packages, 'protocol', 'dist')
// chunk names carry a hash of their content: the chunks of an earlier build would stay behind
rmSync(join(protocol, 'chunks'), { recursive: true, force: true })
await build({
  ...common,
  entryPoints: {
    'index.bundle': join(protocol, 'index.js'),
    'internal.bundle': join(protocol, 'internal.js'),
    'ws.bundle': join(protocol, 'ws-package.js'),
  },
  outdir: protocol,
  // one copy of each module for the three exports: `ForkdError` from the index and the errors the
  // internal helpers throw are the same class
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
})

const server = join(packages, 'server', 'dist')
await build({
  ...common,
  entryPoints: {
    'index.bundle': join(server, 'index.js'),
    'worker/runtime': join(server, 'worker', 'life.js'),
  },
  outdir: server,
  external: ['@forkd/protocol', '@forkd/protocol/*'],
})
