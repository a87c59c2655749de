/**
 * Every exported error class: its code, its default message, `cause`, and `instanceof` across two
 * copies of the packages (the built packages loaded a second time from another path), including a
 * subclass that forgets to declare a code of its own.
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as client from '@forkd/client'
import * as server from '@forkd/server'
import * as protocol from '@forkd/protocol'

type ErrorClass = (new (...args: never[]) => Error) & { code: string; defaultMessage: string }

/** Each exported error class once, with its package and the code it must have. */
const table: [pkg: 'client' | 'server' | 'protocol', name: string, code: string][] = [
  ['protocol', 'ForkdError', 'FORKD_ERR'],
  ['protocol', 'ProtocolError', 'FORKD_ERR_PROTOCOL'],
  ['protocol', 'UnencodableError', 'FORKD_ERR_UNENCODABLE'],
  ['client', 'WorkerError', 'FORKD_ERR_WORKER'],
  ['client', 'SetupError', 'FORKD_ERR_SETUP'],
  ['client', 'TimeoutError', 'FORKD_ERR_TIMEOUT'],
  ['client', 'WorkerDiedError', 'FORKD_ERR_WORKER_DIED'],
  ['client', 'AbortedError', 'FORKD_ERR_ABORTED'],
  ['client', 'AbortError', 'FORKD_ERR_ABORT'],
  ['client', 'CancelledError', 'FORKD_ERR_CANCELLED'],
  ['client', 'ClientClosedError', 'FORKD_ERR_CLIENT_CLOSED'],
  ['client', 'CheckoutReleasedError', 'FORKD_ERR_CHECKOUT_RELEASED'],
  ['client', 'QueueFullError', 'FORKD_ERR_QUEUE_FULL'],
  ['client', 'PayloadTooLargeError', 'FORKD_ERR_PAYLOAD_TOO_LARGE'],
  ['client', 'ConnectError', 'FORKD_ERR_CONNECT'],
  ['client', 'VersionMismatchError', 'FORKD_ERR_VERSION_MISMATCH'],
  ['client', 'ServerAtCapacityError', 'FORKD_ERR_SERVER_AT_CAPACITY'],
  ['client', 'ResolveError', 'FORKD_ERR_RESOLVE'],
  ['client', 'AuthError', 'FORKD_ERR_AUTH'],
  ['server', 'WorkerModuleError', 'FORKD_ERR_WORKER_MODULE'],
  ['server', 'SocketPathError', 'FORKD_ERR_SOCKET_PATH'],
  ['server', 'ServerClosedError', 'FORKD_ERR_SERVER_CLOSED'],
  ['server', 'UnknownMethodError', 'FORKD_ERR_UNKNOWN_METHOD'],
]

const modules = { client, server, protocol } as unknown as Record<string, Record<string, unknown>>
const classOf = (pkg: string, name: string, from = modules) => from[pkg]![name] as ErrorClass

/** The second copy: the three built packages copied under node_modules/.forkd-second-copy. */
const root = fileURLToPath(new URL('../..', import.meta.url))
const copyRoot = join(root, 'node_modules', '.forkd-second-copy')
let second: Record<string, Record<string, unknown>>

beforeAll(async () => {
  rmSync(copyRoot, { recursive: true, force: true })
  for (const pkg of ['protocol', 'server', 'client']) {
    const to = join(copyRoot, 'node_modules', '@forkd', pkg)
    mkdirSync(to, { recursive: true })
    cpSync(join(root, 'packages', pkg, 'package.json'), join(to, 'package.json'))
    cpSync(join(root, 'packages', pkg, 'dist'), join(to, 'dist'), { recursive: true })
  }
  const load = (pkg: string) => import(pathToFileURL(join(copyRoot, 'node_modules', '@forkd', pkg, 'dist', 'index.js')).href) as Promise<Record<string, unknown>>
  second = { client: await load('client'), server: await load('server'), protocol: await load('protocol') }
})

afterAll(() => rmSync(copyRoot, { recursive: true, force: true }))

describe('exported error classes', () => {
  it('are every ForkdError subclass the packages export, each listed once', () => {
    const exported = new Set<string>()
    for (const [pkg, mod] of Object.entries(modules))
      for (const [name, value] of Object.entries(mod))
        if (typeof value === 'function' && (value === protocol.ForkdError || value.prototype instanceof protocol.ForkdError)) exported.add(`${pkg === 'protocol' ? 'protocol' : pkg}:${name}`)
    const listed = new Set(table.map(([pkg, name]) => `${pkg}:${name}`))
    // re-exports of the protocol's classes from client and server are the same classes
    for (const entry of [...exported]) {
      const [pkg, name] = entry.split(':') as [string, string]
      if (pkg !== 'protocol' && modules.protocol![name] === modules[pkg]![name]) exported.delete(entry)
    }
    expect([...exported].sort()).toEqual([...listed].sort())
  })

  it('have one distinct code each', () => {
    expect(new Set(table.map(([, , code]) => code)).size).toBe(table.length)
  })

  it.each(table)('%s %s: code %s, a default message, the class name, and cause passed through', (pkg, name, code) => {
    const Class = classOf(pkg, name)
    expect(Class.code).toBe(code)
    const plain = new Class()
    expect(plain).toBeInstanceOf(Error)
    expect(plain).toBeInstanceOf(protocol.ForkdError)
    expect(plain).toBeInstanceOf(Class)
    expect((plain as { code?: string }).code).toBe(code)
    expect(plain.name).toBe(name)
    expect(plain.message.length).toBeGreaterThan(0)
    expect(plain.message).toContain(Class.defaultMessage.split(':')[0]!)
  })

  it('pass cause through where they take one', () => {
    const cause = new Error('underneath')
    expect(new client.TimeoutError('t', 1, { cause }).cause).toBe(cause)
    expect(new client.ConnectError('c', { cause }).cause).toBe(cause)
    expect(new client.AuthError('a', 401, { cause }).cause).toBe(cause)
    expect(new client.AuthError('a', 401).status).toBe(401)
    expect(new client.AbortError('a', { cause: 'reason' }).cause).toBe('reason')
    expect(new client.AbortedError('a', { cause }).cause).toBe(cause)
    expect(new client.CancelledError('x', cause).cause).toBe(cause)
    expect(new client.WorkerDiedError('d', { cause }).cause).toBe(cause)
    expect(new client.ClientClosedError('n', { cause }).cause).toBe(cause)
    expect(new protocol.ProtocolError('p', { cause }).cause).toBe(cause)
    expect(new server.WorkerModuleError('/m.js', 'm', { cause }).cause).toBe(cause)
  })

  it.each(table)('%s %s: instanceof holds across two copies of the package, both ways', (pkg, name) => {
    const ours = classOf(pkg, name)
    const theirs = classOf(pkg, name, second)
    expect(theirs).not.toBe(ours)
    expect(new theirs()).toBeInstanceOf(ours)
    expect(new ours()).toBeInstanceOf(theirs)
    expect(new theirs()).toBeInstanceOf(protocol.ForkdError)
  })

  it('do not claim instances of another class, in either copy', () => {
    expect(new client.TimeoutError()).not.toBeInstanceOf(client.WorkerDiedError)
    expect(new (classOf('client', 'TimeoutError', second))()).not.toBeInstanceOf(client.WorkerDiedError)
    // a subclass is an instance of its parent, the parent not of the subclass
    expect(new client.VersionMismatchError()).toBeInstanceOf(client.ConnectError)
    expect(new (classOf('client', 'VersionMismatchError', second))()).toBeInstanceOf(client.ConnectError)
    expect(new client.ConnectError()).not.toBeInstanceOf(client.VersionMismatchError)
    expect(new Error('plain')).not.toBeInstanceOf(protocol.ForkdError)
    expect({ code: 'FORKD_ERR_TIMEOUT' }).not.toBeInstanceOf(client.TimeoutError)
  })

  it('a subclass that forgets its own code never claims its parent’s instances', () => {
    class Forgetful extends client.TimeoutError {}
    expect(new Forgetful()).toBeInstanceOf(Forgetful)
    expect(new Forgetful()).toBeInstanceOf(client.TimeoutError)
    expect(new client.TimeoutError()).not.toBeInstanceOf(Forgetful)
    expect(new (classOf('client', 'TimeoutError', second))()).not.toBeInstanceOf(Forgetful)
    expect(new Forgetful().code).toBe('FORKD_ERR_TIMEOUT')
  })
})
