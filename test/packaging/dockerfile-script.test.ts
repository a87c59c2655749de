/**
 * deploy/Dockerfile run as a script on this machine, which has no Docker: its instructions read as
 * `docker build` reads them (test/support/dockerfile.ts), its build steps run in a temporary
 * folder standing for the image's root, its ENTRYPOINT + CMD started as the server with the
 * image's ENV, its HEALTHCHECK command run until it passes, then the server stopped with SIGTERM,
 * as `docker stop` does.
 *
 * The build context is an app as a user has it: a package.json depending on forkd (the tarballs
 * `npm pack` makes of this repository's packages, as in install-from-tarballs.test.ts), its
 * package-lock.json, and its worker module built to dist/worker.js.
 *
 * What differs from `docker build` and `docker run`, and why (each is one row of `remaps` below or
 * said where it happens):
 * - No image is pulled: this machine's Node stands in for FROM node:20's, and npm 10 (installed
 *   by the test into its folder: the major version node:20 images ship) for the image's npm, both
 *   first on PATH. This machine's npm 11 writes the lock file, as a developer's may; it could not
 *   run the RUN step: npm 11's `npm ci` refuses a lock file without entries for optional packages
 *   the registry does not have (cbor-extract 2.2.3's @cbor-extract/* builds; npm/cli#9846).
 * - The image's root is a temporary folder: WORKDIR /srv/app is ROOT/srv/app, and the files under
 *   /etc/forkd that a deployment mounts from Secrets (TLS key, certificate and CA, the token file)
 *   are ROOT/etc/forkd/..., holding the test certificates of test/fixtures/tls and a fresh token.
 * - `npm ci` finds forkd in the tarballs the lock file names (file:...), which the test puts where
 *   the lock says, relative to the app folder: an image build gets forkd from the registry instead.
 *   It may also use this machine's npm cache (prefer-offline), where an image build starts empty.
 * - Nothing runs as USER node: the test cannot switch users; it checks that USER names one.
 * - The server listens on 127.0.0.2, port 0 (the kernel picks a free port, read from the server's
 *   log) instead of 0.0.0.0:7400, which would face the network and could be taken; the
 *   HEALTHCHECK's 127.0.0.1:7400 becomes that address.
 * - FORKD_TLS_SERVERNAME is localhost: the test certificate names localhost and 127.0.0.1 to .4,
 *   a deployment's certificate names `forkd` (docs/deploy.md).
 * - The health check is polled every 250 ms rather than every --interval, for at most the
 *   Dockerfile's --start-period (the time docker grants a container to become healthy).
 */
import { spawn } from 'node:child_process'
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { Client } from '@forkd/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processesTagged, uniqueTag, killTagged } from '../support/cli.js'
import {
  argv, commandForm, containerCommand, DockerfileError, parseDockerfile, parseEnv, parseHealthcheck, readImage, type CommandForm, type Image,
} from '../support/dockerfile.js'
import { fixture, procStat, tempDir, waitFor } from '../support/harness.js'
import { cleanEnv, ok, packWorkspaces, repo, repoVersion, run, type RunResult } from '../support/tarballs.js'

describe('reading a Dockerfile as docker does (test/support/dockerfile.ts)', () => {
  it('joins continuation lines as they are, skipping comment and empty lines inside them', () => {
    const text = '# syntax=docker/dockerfile:1\nFROM node:20\nRUN a \\\n# a comment\n\n  b \\  \n  c\ncmd ["x", \\\n "y"]\n'
    expect(parseDockerfile(text)).toEqual([
      { keyword: 'FROM', args: 'node:20', line: 2 },
      { keyword: 'RUN', args: 'a   b   c', line: 3 },
      { keyword: 'CMD', args: '["x",  "y"]', line: 8 },
    ])
  })

  it.each([
    ['["a", "b c"]', { exec: ['a', 'b c'] }],
    ['a "b c"', { shell: 'a "b c"' }],
    // not valid JSON: docker runs it through the shell
    ["['a']", { shell: "['a']" }],
    ['[1, 2]', { shell: '[1, 2]' }],
  ])('reads %s as %j', (args, form) => {
    expect(commandForm(args)).toEqual(form)
  })

  it.each([
    ['A=1 B="two words" C=\'x y\' D=a\\ b', [['A', '1'], ['B', 'two words'], ['C', 'x y'], ['D', 'a b']]],
    ['A the rest of it', [['A', 'the rest of it']]],
    ['P=/etc/forkd/tls', [['P', '/etc/forkd/tls']]],
  ])('reads ENV %s', (args, vars) => {
    expect(parseEnv(args, 1)).toEqual(vars)
  })

  it('reads HEALTHCHECK options as milliseconds, with docker\'s defaults for the rest', () => {
    expect(parseHealthcheck('--interval=1m30s --retries=5 CMD ["true"]', 1)).toEqual({
      command: { exec: ['true'] }, interval: 90_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 5,
    })
    expect(parseHealthcheck('NONE', 1)).toBeUndefined()
  })

  it('combines ENTRYPOINT and CMD as docker does', () => {
    expect(containerCommand({ exec: ['a', 'b'] }, { exec: ['c'] })).toEqual(['a', 'b', 'c'])
    expect(containerCommand({ exec: ['a'] }, { shell: 'c d' })).toEqual(['a', '/bin/sh', '-c', 'c d'])
    expect(containerCommand({ shell: 'a b' }, { exec: ['c'] })).toEqual(['/bin/sh', '-c', 'a b'])
    expect(containerCommand(undefined, { exec: ['c'] })).toEqual(['c'])
  })

  it.each([
    ['FROM node:20\nADD x /x', 'Dockerfile line 2: the script does not know the instruction ADD; teach test/support/dockerfile.ts what it does first'],
    ['FROM node:20\nENV A=$HOME', 'Dockerfile line 2: "A=$HOME" uses $, a variable the script does not substitute'],
    ['FROM node:20\nCOPY --chown=node a b', 'Dockerfile line 2: COPY --chown=node is a flag the script does not know'],
    ['FROM node:20\nCOPY *.json ./', 'Dockerfile line 2: COPY *.json: the script does not expand globs'],
    ['FROM node:20 AS build\nCMD ["x"]', 'Dockerfile line 1: FROM node:20 AS build: the script knows FROM IMAGE only (no flags, no AS, no variables)'],
    ['FROM node:20\nFROM node:22\nCMD ["x"]', 'Dockerfile line 2: a second FROM: the script runs single-stage Dockerfiles only'],
    ['FROM node:20\nHEALTHCHECK --jitter=1s CMD true\nCMD ["x"]', 'Dockerfile line 2: HEALTHCHECK --jitter is not an option the script knows'],
    ['FROM node:20\nWORKDIR /srv', 'Dockerfile line 1: neither ENTRYPOINT nor CMD: the container has no command'],
  ])('refuses what it cannot run: %j', (text, message) => {
    expect(() => readImage(text)).toThrow(DockerfileError)
    expect(() => readImage(text)).toThrow(message)
  })
})

/** Every process this file starts carries it (the server's workers too), so the end can prove none survived. */
const tag = uniqueTag()
const token = `dockerfile-test-${randomBytes(12).toString('hex')}`

/** One substitution of the container's world by this machine's; each must be used, or the Dockerfile changed under it. */
interface Remap {
  why: string
  apply(value: string): string
  used: boolean
}

describe('deploy/Dockerfile run as a script', () => {
  let dir = ''
  /** The build context: the app folder the Dockerfile is copied into. */
  let context = ''
  /** The image's root folder. */
  let root = ''
  let image: Image
  /** The container's working folder and environment, after the build. */
  let workdir = ''
  let env: NodeJS.ProcessEnv = {}
  let remaps: Remap[] = []
  let port = ''
  /** FORKD_TLS_SERVERNAME as the image sets it (the test's certificate names localhost instead). */
  let imageServername: string | undefined
  const remap = (why: string, from: string, to: (rest: string) => string, match: 'prefix' | 'exact' | 'substring'): Remap => {
    const r: Remap = {
      why,
      used: false,
      apply(value) {
        const hit = match === 'prefix' ? value.startsWith(from) : match === 'exact' ? value === from : value.includes(from)
        if (!hit) return value
        r.used = true
        return match === 'substring' ? value.split(from).join(to('')) : to(value.slice(from.length))
      },
    }
    return r
  }
  const remapAll = (value: string, rules: Remap[] = remaps) => rules.reduce((v, r) => r.apply(v), value)

  beforeAll(async () => {
    dir = tempDir()
    const buildEnv = cleanEnv(tag)
    const tarballs = join(dir, 'tarballs')
    mkdirSync(tarballs)
    const packed = await packWorkspaces(tarballs, buildEnv)

    // The app as its developer has it before `docker build`: dependencies in the lock file.
    context = join(dir, 'app')
    mkdirSync(join(context, 'dist'), { recursive: true })
    writeFileSync(join(context, 'package.json'), JSON.stringify({
      name: 'forkd-docker-app',
      private: true,
      type: 'module',
      allowScripts: { 'cbor-extract': false },
      // In the lock file, left out of the image by --omit=dev.
      devDependencies: { typescript: repoVersion('typescript') },
    }))
    writeFileSync(join(context, 'dist', 'worker.js'), `import { defineWorker } from 'forkd/server'
export default defineWorker({ interface: { pid: () => process.pid, add: (a, b) => a + b } })
`)
    await ok(run('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => join(tarballs, p.filename))], context, buildEnv),
      'npm install --package-lock-only of the tarballs')
    // "Copy it into the application's folder", as the Dockerfile's own comment says.
    cpSync(join(repo, 'deploy', 'Dockerfile'), join(context, 'Dockerfile'))

    root = join(dir, 'root')
    const secrets = join(root, 'etc', 'forkd')
    mkdirSync(join(secrets, 'tls'), { recursive: true })
    mkdirSync(join(secrets, 'token'))
    // The Kubernetes Secrets' layout (deploy/kubernetes/forkd.yaml): forkd-tls and forkd-token.
    cpSync(fixture('tls/server-key.pem'), join(secrets, 'tls', 'tls.key'))
    cpSync(fixture('tls/server-cert.pem'), join(secrets, 'tls', 'tls.crt'))
    cpSync(fixture('tls/ca-cert.pem'), join(secrets, 'tls', 'ca.crt'))
    writeFileSync(join(secrets, 'token', 'tokens'), `${token}\n`)

    image = readImage(readFileSync(join(context, 'Dockerfile'), 'utf8'))
    if (image.expose.length !== 1 || !/^\d+(\/tcp)?$/.test(image.expose[0]!)) throw new Error(`expected one EXPOSEd TCP port, got ${image.expose.join(' ')}`)
    port = image.expose[0]!.replace('/tcp', '')
    remaps = [
      remap('the Secrets mounted under /etc/forkd', '/etc/forkd/', (rest) => join(secrets, rest), 'prefix'),
      remap('a loopback address and a free port instead of every interface', `0.0.0.0:${port}`, () => '127.0.0.2:0', 'exact'),
    ]

    // The base image's environment: its node and npm on PATH.
    const imageNpm = join(dir, 'image-npm')
    await ok(run('npm', ['install', '--prefix', imageNpm, '--no-audit', '--no-fund', '--prefer-offline', 'npm@10'], dir, buildEnv), 'npm install of npm@10')
    env = { ...buildEnv, PATH: `${join(imageNpm, 'node_modules', '.bin')}:${dirname(process.execPath)}:${buildEnv.PATH ?? ''}` }
    workdir = root
    for (const step of image.build) {
      if (step.kind === 'env') {
        for (const [name, value] of step.vars) env[name] = remapAll(value)
      } else if (step.kind === 'workdir') {
        workdir = isAbsolute(step.path) ? join(root, step.path) : resolve(workdir, step.path)
        mkdirSync(workdir, { recursive: true })
      } else if (step.kind === 'copy') {
        copyStep(step.sources, step.destination, step.line)
      } else {
        placeTarballsForLockFile()
        // npm may use this machine's cache where an image build would download
        await ok(runCommand(step.command, { ...env, npm_config_prefer_offline: 'true' }, 180_000), `RUN (Dockerfile line ${step.line})`)
      }
    }
    imageServername = env.FORKD_TLS_SERVERNAME
    env.FORKD_TLS_SERVERNAME = 'localhost'
  }, 240_000)

  afterAll(async () => {
    try {
      await waitFor(() => processesTagged(tag).length === 0, 'every process of the container to exit')
    } finally {
      killTagged(tag)
      if (dir) rmSync(dir, { recursive: true, force: true })
    }
  })

  /** COPY as docker does it: a folder's contents, not the folder; into DEST/ when DEST ends with / or there are several sources. */
  function copyStep(sources: string[], destination: string, line: number): void {
    const target = isAbsolute(destination) ? join(root, destination) : resolve(workdir, destination)
    const intoFolder = destination.endsWith('/') || sources.length > 1
    for (const source of sources) {
      const from = resolve(context, source)
      if (!from.startsWith(`${context}/`) || !existsSync(from)) throw new Error(`Dockerfile line ${line}: COPY ${source}: not in the build context`)
      const folder = statSync(from).isDirectory()
      cpSync(from, intoFolder && !folder ? join(target, basename(from)) : target, { recursive: true })
    }
  }

  /** The registry's stand-in: each file: tarball of the lock file where the lock file says, seen from the app folder in the image. */
  function placeTarballsForLockFile(): void {
    const lockPath = join(workdir, 'package-lock.json')
    if (!existsSync(lockPath)) return
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { packages: Record<string, { resolved?: string }> }
    for (const { resolved } of Object.values(lock.packages)) {
      if (resolved?.startsWith('file:') !== true) continue
      const to = resolve(workdir, resolved.slice('file:'.length))
      mkdirSync(dirname(to), { recursive: true })
      cpSync(resolve(context, resolved.slice('file:'.length)), to)
    }
  }

  /** Runs a command form in the container's working folder; exec form with a relative path is relative to it, as in docker. */
  function runCommand(command: CommandForm, environment: NodeJS.ProcessEnv, timeout: number): Promise<RunResult> {
    const [file, ...args] = argv(command)
    return run(file!.includes('/') ? resolve(workdir, file!) : file!, args, workdir, environment, timeout)
  }

  it('builds: npm ci installs forkd from the lock file without the dev dependencies, and the worker module is in place', () => {
    // This machine's Node stands in for the image's.
    expect(image.from).toMatch(/^node:\d+/)
    expect(workdir).toBe(join(root, 'srv', 'app'))
    for (const name of ['forkd', '@forkd/server', '@forkd/client', '@forkd/protocol']) {
      expect(lstatSync(join(workdir, 'node_modules', name)).isDirectory(), name).toBe(true)
    }
    expect(existsSync(join(workdir, 'node_modules', 'typescript'))).toBe(false)
    expect(JSON.parse(readFileSync(join(workdir, 'package-lock.json'), 'utf8')).packages['node_modules/typescript']).toBeDefined()
    expect(readFileSync(join(workdir, 'dist', 'worker.js'), 'utf8')).toContain("from 'forkd/server'")
    expect(env.NODE_ENV).toBe('production')
    expect(env.FORKD_TOKEN_FILE).toBe(join(root, 'etc', 'forkd', 'token', 'tokens'))
    expect(env.FORKD_TLS_DIR).toBe(join(root, 'etc', 'forkd', 'tls'))
    // The name docs/deploy.md tells clients to check.
    expect(imageServername).toBe('forkd')
    // The test runs as whoever runs it; the image must name an unprivileged user.
    expect(image.user).toBeDefined()
    expect(['root', '0']).not.toContain(image.user!.split(':')[0])
  })

  it('serves as ENTRYPOINT + CMD say: healthy by its HEALTHCHECK, serving dist/worker.js with the token, and exits 0 on SIGTERM', async () => {
    const command = image.command.map((a) => remapAll(a))
    expect(command).not.toContain(`0.0.0.0:${port}`)
    expect(command.filter((a) => a.startsWith('/etc/'))).toEqual([])
    for (const r of remaps) expect(r.used, r.why).toBe(true)

    const [file, ...args] = command
    const server = spawn(file!.includes('/') ? resolve(workdir, file!) : file!, args, { cwd: workdir, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    server.stderr.setEncoding('utf8').on('data', (d: string) => (log += d))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => server.once('exit', (code, signal) => done({ code, signal })))
    let gone = false
    void exited.then(() => (gone = true))
    try {
      // Whole lines only: the last piece may still be arriving.
      const records = () => log.split('\n').slice(0, -1).map((line) => {
        try {
          return JSON.parse(line) as { level: string; msg: string; pid: number }
        } catch {
          throw new Error(`not a JSON log record (--log-format json): ${line}`)
        }
      })
      const address = await waitFor(() => {
        if (gone) throw new Error(`the server exited before listening:\n${log}`)
        return records().map((r) => /^listening on (127\.0\.0\.2:\d+) \(TLS\)$/.exec(r.msg)?.[1]).find((a) => a !== undefined)
      }, 'the server to listen', 20_000)

      const check = image.healthcheck!
      expect(check).toBeDefined()
      const health = remap('the health check reaches the server where it listens', `127.0.0.1:${port}`, () => address, 'substring')
      const healthCommand: CommandForm = 'exec' in check.command
        ? { exec: check.command.exec.map((a) => remapAll(a, [health])) }
        : { shell: remapAll(check.command.shell, [health]) }
      expect(health.used, health.why).toBe(true)
      // Each try is a node process: every 250 ms, not waitFor's 20 ms.
      const deadline = Date.now() + check.startPeriod
      for (let tries = 1; ; tries++) {
        const result = await runCommand(healthCommand, env, check.timeout)
        if (result.status === 0) break
        if (Date.now() > deadline) throw new Error(`the HEALTHCHECK did not pass within --start-period (${tries} tries; last: exit ${result.status}, ${result.stderr})\n${log}`)
        await new Promise((r) => setTimeout(r, 250))
      }

      // The same check with a token the server does not know fails: it is a real check of the credentials.
      const wrong = join(root, 'etc', 'forkd', 'token', 'wrong')
      writeFileSync(wrong, `wrong-${token}\n`)
      const refused = await runCommand(healthCommand, { ...env, FORKD_TOKEN_FILE: wrong }, check.timeout)
      expect(refused.status).toBe(1)
      expect(refused.stderr).toMatch(/401/)

      // A client as a deployment's: TLS with the CA, the token; the worker runs the image's module.
      const client = new Client({ connect: address, tls: { ca: readFileSync(fixture('tls/ca-cert.pem')), servername: 'localhost' }, auth: { token }, minWorkers: 0 })
      try {
        const c = await client.checkout()
        try {
          expect(await c.add(2, 3)).toBe(5)
          const pid = await c.pid()
          expect(pid).toBe(c.worker.pid)
          expect(procStat(pid)?.ppid).toBe(server.pid)
        } finally {
          c.release()
        }
      } finally {
        await client.close()
      }

      server.kill('SIGTERM')
      expect(await exited).toEqual({ code: 0, signal: null })
      // Every record is JSON (--log-format json), all from the server itself.
      expect(new Set(records().map((r) => r.pid))).toEqual(new Set([server.pid]))
      await waitFor(() => processesTagged(tag).length === 0, 'the server\'s workers to exit after it')
    } finally {
      if (!gone) server.kill('SIGKILL')
    }
  }, 60_000)
})
