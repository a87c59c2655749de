/**
 * `allowExitOnIdle: true`: when nothing is checked out or waiting, the client's sockets and timers
 * do not keep the process alive, so a script that forgets `client.close()` still exits. Without
 * it (the default), or while a checkout is held, the process stays alive.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fixture, isAlive, startEnv, waitFor, type TestEnv } from '../../support/harness.js'

interface Run {
  child: ChildProcess
  report: Promise<{ pid: number; stats: { idle: number; workers: number } }>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function runClient(path: string, mode: 'allow' | 'keep' | 'hold'): Run {
  const child = spawn(process.execPath, [fixture('exit-on-idle-client.mjs'), path, mode], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const report = new Promise<{ pid: number; stats: { idle: number; workers: number } }>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))))
    })
    void exited.then(({ code }) => reject(new Error(`the client process exited with ${code} before reporting`)))
  })
  return { child, report, exited }
}

describe('allowExitOnIdle', () => {
  let env: TestEnv
  const children: ChildProcess[] = []
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  afterAll(() => env.cleanup())

  it('true: a process that released its checkout and never closed its client exits by itself, code 0', async () => {
    const run = runClient(env.path, 'allow')
    children.push(run.child)
    const { pid, stats } = await run.report
    env.pids.add(pid)
    // Idle connections were open: they are what must not hold the process.
    expect(stats.workers).toBe(2)
    const exit = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000))])
    expect(exit).toEqual({ code: 0, signal: null })
    // Its worker connections closed with it: the server ends those workers.
    await waitFor(() => !isAlive(pid), `worker ${pid} to exit`)
  })

  it('false (the default): the same process stays alive, held by its idle connections', async () => {
    const run = runClient(env.path, 'keep')
    children.push(run.child)
    const { pid } = await run.report
    env.pids.add(pid)
    // Nothing happens during this time: the process does not exit.
    await new Promise((r) => setTimeout(r, 1_500))
    expect(run.child.exitCode).toBe(null)
    expect(isAlive(run.child.pid!)).toBe(true)
    run.child.kill('SIGTERM')
    expect(await run.exited).toEqual({ code: null, signal: 'SIGTERM' })
  })

  it('true, but a checkout is still held: the process stays alive', async () => {
    const run = runClient(env.path, 'hold')
    children.push(run.child)
    const { pid } = await run.report
    env.pids.add(pid)
    await new Promise((r) => setTimeout(r, 1_500))
    expect(run.child.exitCode).toBe(null)
    run.child.kill('SIGTERM')
    expect(await run.exited).toEqual({ code: null, signal: 'SIGTERM' })
  })
})
