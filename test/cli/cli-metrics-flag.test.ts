/** `forkd serve --metrics HOST:PORT`: Prometheus text on a loopback address, refused elsewhere. */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, serveCli, type ServeProcess } from '../support/cli.js'
import { fixture, tempDir, waitFor } from '../support/harness.js'
import { parsePrometheus, sampleValue } from '../support/prometheus-text.js'

let serve: ServeProcess | undefined
let dir: string | undefined
afterEach(async () => {
  if (serve !== undefined) {
    serve.child.kill('SIGTERM')
    await serve.exited
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  serve = dir = undefined
}, 60_000)

const usage = "Usage: forkd serve --listen PATH [flags] WORKER_MODULE ('forkd serve --help' lists the flags)\n"

describe('forkd serve --metrics', { timeout: 120_000 }, () => {
  it('serves /metrics on 127.0.0.1 for :PORT and logs where', async () => {
    dir = tempDir()
    serve = serveCli(join(dir, 's.sock'), 'echo-worker.mjs', { args: ['--metrics', ':0', '--name', 'm'] })
    await serve.listening(60_000)
    const port = Number(await waitFor(() => / info: metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(serve!.stderr())?.[1], 'the metrics log line', 30_000))
    const families = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
    expect(sampleValue(families, 'forkd_server_info', { name: 'm' })).toBe(1)
    expect(sampleValue(families, 'forkd_workers', { state: 'spare', name: 'm' })).toBeGreaterThanOrEqual(1)
  })

  it('refuses a host another machine could reach, in the flag\'s terms, with exit status 2', async () => {
    const result = await runCli(['serve', '--listen', '/tmp/fd-never-m.sock', '--metrics', '0.0.0.0:9464', fixture('echo-worker.mjs')], { timeout: 60_000 })
    expect(result.stderr).toBe(`forkd: --metrics must be a loopback address (127.0.0.1, 127.x.y.z, ::1 or localhost): /metrics has no authentication, got "0.0.0.0"\n${usage}`)
    expect(result.status).toBe(2)
  })

  it('refuses a value that is not HOST:PORT', async () => {
    const result = await runCli(['serve', '--listen', '/tmp/fd-never-m.sock', '--metrics', '/tmp/m.sock', fixture('echo-worker.mjs')], { timeout: 60_000 })
    expect(result.stderr).toBe(`forkd: --metrics must be HOST:PORT or :PORT, got "/tmp/m.sock"\n${usage}`)
    expect(result.status).toBe(2)
  })
})
