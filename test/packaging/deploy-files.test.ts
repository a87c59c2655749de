/**
 * The deploy kit (deploy/) as far as this machine can check it without systemd, Docker or a
 * cluster: the systemd units parse and say what docs/deploy.md promises (socket activation,
 * KillMode=mixed, SIGHUP on reload, a stop timeout above the drain timeout), the Kubernetes YAML
 * parses into a headless Service and a Deployment with the same promises, and every forkd flag in
 * any of the files is one the CLI has.
 */
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { describe, expect, it } from 'vitest'
import { serveFlags } from '../../packages/server/dist/cli/serve.js'
import { statusFlags } from '../../packages/server/dist/cli/status.js'

const deploy = (path: string) => readFileSync(new URL(`../../deploy/${path}`, import.meta.url), 'utf8')

/** A systemd unit file: sections of `Key=value` lines (# and ; comments, repeated keys kept in order). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const section = /^\[([A-Za-z]+)\]$/.exec(line)
    if (section !== null) {
      current = new Map()
      sections.set(section[1]!, current)
      continue
    }
    const entry = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line)
    if (entry === null || current === undefined) throw new Error(`line ${i + 1} is not a unit file line: ${raw}`)
    current.set(entry[1]!, [...(current.get(entry[1]!) ?? []), entry[2]!])
  }
  return sections
}

const one = (unit: Map<string, Map<string, string[]>>, section: string, key: string): string => {
  const values = unit.get(section)?.get(key)
  expect(values, `${section}.${key}`).toHaveLength(1)
  return values![0]!
}

/** Checks every --flag of a forkd command line against the command's table; returns the --drain-timeout given. */
function checkForkdArgs(args: readonly string[]): number | undefined {
  const i = args.findIndex((a) => a === 'serve' || a === 'status')
  expect(i, `a forkd command in ${args.join(' ')}`).toBeGreaterThanOrEqual(0)
  const flags = args[i] === 'serve' ? serveFlags : statusFlags
  let drain: number | undefined
  for (const [j, a] of args.entries()) {
    if (j <= i || !a.startsWith('--')) continue
    const row = flags.find((f) => f.name === a.slice(2))
    expect(row, `${args[i]} has the flag ${a}`).toBeDefined()
    if (a === '--drain-timeout') drain = Number(args[j + 1])
  }
  return drain
}

describe('deploy/systemd', () => {
  it('forkd.socket listens on a Unix socket only the forkd user may use', () => {
    const socket = parseUnit(deploy('systemd/forkd.socket'))
    expect(one(socket, 'Socket', 'ListenStream')).toBe('/run/forkd/forkd.sock')
    expect(one(socket, 'Socket', 'SocketMode')).toBe('0600')
    expect(one(socket, 'Socket', 'SocketUser')).toBe('forkd')
    expect(one(socket, 'Install', 'WantedBy')).toBe('sockets.target')
  })

  it('forkd.service serves the socket of forkd.socket, drains on stop and reloads on SIGHUP', () => {
    const service = parseUnit(deploy('systemd/forkd.service'))
    expect(one(service, 'Unit', 'Requires')).toBe('forkd.socket')
    const exec = one(service, 'Service', 'ExecStart').split(/\s+/)
    expect(exec.slice(0, 4)).toEqual(['/srv/app/node_modules/.bin/forkd', 'serve', '--listen', 'systemd'])
    const drain = checkForkdArgs(exec)!
    expect(one(service, 'Service', 'KillMode')).toBe('mixed')
    expect(one(service, 'Service', 'ExecReload')).toBe('/bin/kill -HUP $MAINPID')
    expect(Number(one(service, 'Service', 'TimeoutStopSec')) * 1000).toBeGreaterThan(drain)
    expect(one(service, 'Service', 'User')).not.toBe('root')
  })
})

describe('deploy/kubernetes/forkd.yaml', () => {
  const docs = parseAllDocuments(deploy('kubernetes/forkd.yaml')).map((d) => {
    expect(d.errors).toEqual([])
    return d.toJS() as Record<string, any>
  })
  const byKind = (kind: string) => docs.find((d) => d.kind === kind)!

  it('has a headless Service publishing ready pods only', () => {
    const service = byKind('Service')
    expect(service.spec.clusterIP).toBe('None')
    expect(service.spec.publishNotReadyAddresses).toBe(false)
    expect(service.spec.ports).toEqual([{ name: 'forkd', port: 7400, targetPort: 'forkd', protocol: 'TCP' }])
  })

  it('has a Deployment with TLS and the token from Secrets, a grace period above the drain timeout and a readiness probe through forkd status', () => {
    const pod = byKind('Deployment').spec.template.spec
    const container = pod.containers[0]
    const drain = checkForkdArgs(['serve', ...container.args])!
    expect(container.args).toEqual(expect.arrayContaining(['--tls-key', '--tls-cert', '--auth-token-file']))
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drain)
    const probe = container.readinessProbe.exec.command as string[]
    expect(probe.slice(0, 2)).toEqual(['node_modules/.bin/forkd', 'status'])
    checkForkdArgs(probe)
    expect(pod.securityContext.runAsNonRoot).toBe(true)
    expect(pod.volumes.map((v: any) => v.secret.secretName).sort()).toEqual(['forkd-tls', 'forkd-token'])
    // Every path the container reads is under a mounted Secret.
    const mounts = container.volumeMounts.map((m: any) => m.mountPath as string)
    for (const path of [...container.args, ...probe].filter((a: string) => a.startsWith('/etc/forkd/')))
      expect(mounts.some((m: string) => path.startsWith(`${m}/`)), path).toBe(true)
  })
})

describe('deploy/Dockerfile', () => {
  const lines = deploy('Dockerfile').replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))
  const instruction = (name: string) => lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim())

  it('runs the CLI as its entry point, as a non-root user, with a health check through forkd status', () => {
    expect(instruction('USER')).toEqual(['node'])
    const entry = JSON.parse(instruction('ENTRYPOINT')[0]!) as string[]
    const cmd = JSON.parse(instruction('CMD')[0]!) as string[]
    expect(entry).toEqual(['node_modules/.bin/forkd', 'serve'])
    checkForkdArgs([...entry, ...cmd])
    const health = instruction('HEALTHCHECK')[0]!
    const command = health.slice(health.indexOf('CMD ') + 4).split(/\s+/).filter((w) => w !== '>' && w !== '/dev/null')
    expect(command.slice(0, 2)).toEqual(['node_modules/.bin/forkd', 'status'])
    checkForkdArgs(command)
  })
})
