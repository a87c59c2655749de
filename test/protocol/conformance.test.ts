/**
 * Plays every case of the protocol conformance suite (packages/protocol/conformance/) against the
 * reference server: a real `serve.mjs` process per server configuration on a temporary Unix
 * socket, the suite's fixture workers, and a hand-written WebSocket client that sends the cases'
 * bytes as they are and checks what comes back byte by byte or with the suite's matchers.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, it } from 'vitest'
import { isAlive, procStat, tempDir, waitFor, waitForExit } from '../support/harness.js'
import { diag, diagSequence, match, toPlain } from './cbor-model.js'
import { RawClient } from './raw-client.js'

const suite = fileURLToPath(new URL('../../packages/protocol/conformance/', import.meta.url))
const serveScript = join(suite, 'serve.mjs')

interface PayloadPart {
  hex?: string
  zeros?: number
  repeat?: number
}

interface SendSpec extends PayloadPart {
  /** The payload as consecutive parts, for large or repetitive payloads. */
  parts?: PayloadPart[]
  diag?: string
  zeros?: number
  text?: string
  repeat?: number
  times?: number
  opcode?: number
  fin?: boolean
  rsv?: number
  masked?: boolean
  declaredLength?: number
  close?: number
  reason?: string
}

interface UpgradeSpec {
  path?: string
  protocol?: string | null
  key?: string | null
  version?: string
  headers?: Record<string, string>
}

type Step = { conn?: string; timeout?: number } & (
  | { open: { hello?: unknown } & UpgradeSpec }
  | { upgrade: UpgradeSpec }
  | { http: { status: number; headers?: Record<string, unknown> } | null }
  | { send: SendSpec }
  | { raw: string }
  | { receive: unknown }
  | { receiveHex: string; diag?: string }
  | { receiveMany: { count: number; each: unknown } }
  | { closed: { code: number; reason?: unknown } }
  | { ended: true }
  | { do: 'reload' | 'shutdown' | 'takeover' | 'kill-server' | 'kill-worker'; signal?: NodeJS.Signals }
)

interface Case {
  name: string
  about?: string
  worker: string
  server?: Record<string, unknown>
  exclusive?: boolean
  pending?: string
  needs?: string
  timeout?: number
  steps: Step[]
}

const defaultHello = [0, { v: 1, pid: { $type: 'uint', $min: 1 }, id: { $type: 'uint', $min: 1 }, name: { $type: 'text' }, serverPid: { $type: 'uint', $min: 1 }, checkoutDone: { $type: 'bool' }, concurrency: { $type: 'uint', $min: 1 }, maxPayload: { $type: 'uint', $min: 1 } }]

/** A forkd server in its own process: `serve.mjs` on a socket in a fresh folder. */
class ServerProcess {
  readonly dir = tempDir()
  readonly path = join(this.dir, 's.sock')
  /** Every server process started on this path: a takeover adds one. */
  readonly processes: ChildProcess[] = []

  private constructor(readonly worker: string, readonly options: Record<string, unknown> | undefined) {}

  static async start(worker: string, options: Record<string, unknown> | undefined): Promise<ServerProcess> {
    const server = new ServerProcess(worker, options)
    await server.spawn()
    return server
  }

  /** Starts a server process with this configuration on this path (again, for a takeover). */
  async spawn(): Promise<ChildProcess> {
    const child = fork(serveScript, [this.path, this.worker, JSON.stringify(this.options ?? {})], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    this.processes.push(child)
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`serve.mjs exited with code ${code} before listening`)))
    })
    return child
  }

  get current(): ChildProcess {
    return this.processes.at(-1)!
  }

  /** Worker processes of the live server processes, from /proc. */
  workers(): number[] {
    const parents = new Set(this.processes.map((p) => p.pid))
    return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => parents.has(procStat(pid)?.ppid ?? -1))
  }

  async stop(): Promise<void> {
    const workers = this.workers()
    for (const child of this.processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
    await Promise.all(this.processes.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((r) => child.once('exit', r)))))
    await waitForExit(workers)
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function upgradeRequest(spec: UpgradeSpec): string {
  const lines = [`GET ${spec.path ?? '/forkd'} HTTP/1.1`, 'Host: localhost', 'Upgrade: websocket', 'Connection: Upgrade']
  if (spec.key !== null) lines.push(`Sec-WebSocket-Key: ${spec.key ?? randomBytes(16).toString('base64')}`)
  lines.push(`Sec-WebSocket-Version: ${spec.version ?? '13'}`)
  if (spec.protocol !== null) lines.push(`Sec-WebSocket-Protocol: ${spec.protocol ?? 'forkd.v1'}`)
  for (const [name, value] of Object.entries(spec.headers ?? {})) lines.push(`${name}: ${value}`)
  return lines.join('\r\n') + '\r\n\r\n'
}

const fromHex = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex')

function payloadOf(spec: SendSpec): Buffer {
  if (spec.close !== undefined) {
    const reason = Buffer.from(spec.reason ?? '')
    return Buffer.concat([Buffer.from([spec.close >> 8, spec.close & 0xff]), reason])
  }
  if (spec.text !== undefined) return Buffer.from(spec.text)
  return Buffer.concat((spec.parts ?? [spec]).map((part) => {
    const unit = part.zeros !== undefined ? Buffer.alloc(part.zeros) : fromHex(part.hex ?? '')
    return part.repeat === undefined ? unit : Buffer.concat(Array.from({ length: part.repeat }, () => unit))
  }))
}

/** Checks a header matcher: a string is compared exactly, `null` says the header is absent, anything else is a JSON matcher. */
function checkHeaders(actual: Record<string, string>, wanted: Record<string, unknown>): string[] {
  const errors: string[] = []
  for (const [name, matcher] of Object.entries(wanted)) {
    const value = actual[name.toLowerCase()]
    if (matcher === null) {
      if (value !== undefined) errors.push(`header ${name}: expected none, got ${JSON.stringify(value)}`)
    } else if (value === undefined) errors.push(`header ${name}: missing`)
    else if (typeof matcher === 'string') {
      if (value !== matcher) errors.push(`header ${name}: expected ${JSON.stringify(matcher)}, got ${JSON.stringify(value)}`)
    } else {
      const pattern = (matcher as { $regex?: string }).$regex
      if (pattern === undefined || !new RegExp(pattern).test(value)) errors.push(`header ${name}: expected /${pattern}/, got ${JSON.stringify(value)}`)
    }
  }
  return errors
}

/** Runs one case; every failure names the case and the step. */
async function play(c: Case, server: ServerProcess, file: string): Promise<void> {
  const conns = new Map<string, RawClient>()
  /** The worker pid of each connection, from its hello. */
  const workerPid = new Map<string, number>()
  const pids = new Set<number>()
  const conn = (name: string) => {
    let client = conns.get(name)
    if (client === undefined) {
      client = new RawClient(server.path)
      conns.set(name, client)
    }
    return client
  }
  const fail = (index: number, why: string): never => {
    throw new Error(`conformance case "${c.name}" (${file}), step ${index + 1} ${JSON.stringify(c.steps[index]).slice(0, 160)}: ${why}`)
  }
  try {
    for (const [index, step] of c.steps.entries()) {
      const name = step.conn ?? 'a'
      const timeout = step.timeout ?? 15_000
      const check = (errors: string[]) => {
        if (errors.length > 0) fail(index, errors.join('; '))
      }
      const nextMessage = async (ws: RawClient) => {
        await ws.until(() => ws.messages.length > ws.next, 'a message', timeout).catch((e: Error) => fail(index, e.message))
        return ws.messages[ws.next++]!
      }
      if ('open' in step || 'upgrade' in step) {
        const ws = conn(name)
        const spec = 'open' in step ? step.open : step.upgrade
        ws.write(upgradeRequest(spec))
        if ('upgrade' in step) continue
        await ws.until(() => ws.http !== undefined, 'the HTTP answer', timeout).catch((e: Error) => fail(index, e.message))
        if (ws.http!.status !== 101) fail(index, `expected HTTP 101, got ${ws.http!.head.split('\r\n')[0]} (${ws.http!.headers['x-forkd-error'] ?? ''})`)
        check(checkHeaders(ws.http!.headers, { 'Sec-WebSocket-Protocol': 'forkd.v1' }))
        const hello = await nextMessage(ws)
        check(match(hello, step.open.hello ?? defaultHello))
        const info = toPlain(hello) as [0, { pid: number }]
        workerPid.set(name, info[1].pid)
        pids.add(info[1].pid)
      } else if ('http' in step) {
        const ws = conn(name)
        if (step.http === null) {
          await ws.until(() => ws.ended, 'the stream to end with no HTTP answer', timeout).catch((e: Error) => fail(index, e.message))
          if (ws.http !== undefined) fail(index, `expected no HTTP answer, got ${ws.http.head.split('\r\n')[0]}`)
          continue
        }
        await ws.until(() => ws.http !== undefined, 'the HTTP answer', timeout).catch((e: Error) => fail(index, e.message))
        if (ws.http!.status !== step.http.status) fail(index, `expected HTTP ${step.http.status}, got ${ws.http!.head.split('\r\n')[0]} (${ws.http!.headers['x-forkd-error'] ?? ''})`)
        check(checkHeaders(ws.http!.headers, step.http.headers ?? {}))
      } else if ('send' in step) {
        const spec = step.send
        const payload = payloadOf(spec)
        if (spec.diag !== undefined && spec.hex !== undefined) {
          const printed = diagSequence(fromHex(spec.hex))
          if (printed !== spec.diag) fail(index, `the case's hex is ${printed}, its diag says ${spec.diag}`)
        }
        const opcode = spec.close !== undefined ? 0x8 : spec.opcode ?? (spec.text !== undefined ? 0x1 : 0x2)
        const ws = conn(name)
        for (let i = 0; i < (spec.times ?? 1); i++)
          ws.send({ opcode, payload, fin: spec.fin ?? true, rsv: spec.rsv ?? 0, masked: spec.masked ?? true, ...(spec.declaredLength === undefined ? {} : { declaredLength: spec.declaredLength }) })
      } else if ('raw' in step) {
        conn(name).write(fromHex(step.raw))
      } else if ('receive' in step) {
        check(match(await nextMessage(conn(name)), step.receive))
      } else if ('receiveHex' in step) {
        if (step.diag !== undefined && diagSequence(fromHex(step.receiveHex)) !== step.diag)
          fail(index, `the case's hex is ${diagSequence(fromHex(step.receiveHex))}, its diag says ${step.diag}`)
        const message = await nextMessage(conn(name))
        // exact integer and float encodings; any width of string, array and map length heads
        const wanted = diagSequence(fromHex(step.receiveHex), false)
        if (diag(message, false) !== wanted) fail(index, `expected ${wanted}, got ${diag(message, false).slice(0, 400)} (${message.raw.toString('hex').slice(0, 200)})`)
      } else if ('receiveMany' in step) {
        for (let i = 0; i < step.receiveMany.count; i++) {
          const errors = match(await nextMessage(conn(name)), step.receiveMany.each, `message ${i + 1}`)
          check(errors)
        }
      } else if ('closed' in step) {
        const ws = conn(name)
        const wanted = step.closed
        if (wanted.code === 1006) {
          await ws.until(() => ws.ended, 'the stream to end', timeout).catch((e: Error) => fail(index, e.message))
          if (ws.close !== undefined) fail(index, `expected no close frame (1006), got close ${ws.close.code} ${JSON.stringify(ws.close.reason)}`)
        } else {
          await ws.until(() => ws.close !== undefined, `a close frame ${wanted.code}`, timeout).catch((e: Error) => fail(index, e.message))
          if (ws.close!.code !== wanted.code) fail(index, `expected close ${wanted.code}, got close ${ws.close!.code} ${JSON.stringify(ws.close!.reason)}`)
          if (wanted.reason !== undefined) {
            const text = ws.close!.reason
            const matcher = wanted.reason
            const ok = typeof matcher === 'string' ? text === matcher : new RegExp((matcher as { $regex: string }).$regex, 's').test(text)
            if (!ok) fail(index, `close reason ${JSON.stringify(text)} does not match ${JSON.stringify(matcher)}`)
          }
        }
        if (ws.messages.length > ws.next) fail(index, `unexpected messages before the close: ${ws.messages.slice(ws.next).map((m) => diagSequence(m.raw).slice(0, 120)).join(' | ')}`)
      } else if ('ended' in step) {
        const ws = conn(name)
        await ws.until(() => ws.ended, 'the stream to end', timeout).catch((e: Error) => fail(index, e.message))
      } else if ('do' in step) {
        await act(step, server, workerPid.get(name), pids).catch((e: Error) => fail(index, e.message))
      }
    }
    for (const [name, ws] of conns)
      if (ws.messages.length > ws.next) throw new Error(`conformance case "${c.name}" (${file}): connection ${name} received messages no step expected: ${ws.messages.slice(ws.next).map((m) => diagSequence(m.raw).slice(0, 120)).join(' | ')}`)
  } finally {
    for (const ws of conns.values()) ws.destroy()
    await waitForExit(pids, 15_000)
  }
}

async function act(step: Extract<Step, { do: string }>, server: ServerProcess, pid: number | undefined, pids: Set<number>): Promise<void> {
  switch (step.do) {
    case 'reload':
      server.current.kill('SIGHUP')
      return
    case 'shutdown':
      server.current.kill('SIGTERM')
      return
    case 'takeover':
      await server.spawn()
      return
    case 'kill-server': {
      const child = server.current
      for (const worker of server.workers()) pids.add(worker)
      child.kill('SIGKILL')
      await waitFor(() => !isAlive(child.pid!), 'the server process to die')
      return
    }
    case 'kill-worker':
      if (pid === undefined) throw new Error('kill-worker before a hello gave the worker pid')
      process.kill(pid, step.signal ?? 'SIGKILL')
  }
}

const files = readdirSync(join(suite, 'cases')).filter((f) => f.endsWith('.json')).sort()

for (const file of files) {
  const cases = JSON.parse(readFileSync(join(suite, 'cases', file), 'utf8')) as Case[]
  describe(`conformance ${file}`, () => {
    const shared = new Map<string, Promise<ServerProcess>>()
    afterAll(async () => {
      await Promise.all([...shared.values()].map(async (s) => (await s).stop()))
    })
    for (const c of cases) {
      const run = async () => {
        let server: ServerProcess
        if (c.exclusive) server = await ServerProcess.start(c.worker, c.server)
        else {
          const id = JSON.stringify([c.worker, c.server ?? {}])
          if (!shared.has(id)) shared.set(id, ServerProcess.start(c.worker, c.server))
          server = await shared.get(id)!
        }
        try {
          await play(c, server, file)
        } finally {
          if (c.exclusive) await server.stop()
        }
      }
      if (c.pending !== undefined) it.todo(`${c.name} (pending: ${c.pending})`)
      else it(c.name, run, c.timeout ?? 60_000)
    }
  })
}

