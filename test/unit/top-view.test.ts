import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, renderTop, sortRows } from '../../packages/server/src/cli/top-view.js'
import type { ServerStatus, WorkerRow } from '@forkd/server'

const row = (id: number, over: Partial<WorkerRow> = {}): WorkerRow =>
  ({ id, pid: 1000 + id, state: 'spare', connections: 0, age: 5_000, rss: 60 * 1024 * 1024, calls: 0, call: null, status: false, ...over })

const status = (workers: WorkerRow[], calls = 0): ServerStatus => ({
  pid: 42, version: '0.1.0', protocol: 1, name: 'app', state: 'listening', uptime: 65_000, listen: '/run/app.sock', refused: 0,
  concurrency: 1, spares: 1, active: 2, draining: 0, starting: 0, ending: 0, pending: 0, started: 4, exited: 1, killed: { hung: 1, unresponsive: 0, shutdown: 0, startTimeout: 0 },
  exits: { SIGKILL: 1 }, calls, workers,
})

describe('forkd top view', () => {
  it('formats durations and sizes', () => {
    expect([850, 12_340, 245_000, 3 * 3600_000 + 12 * 60_000, 50 * 3600_000].map(formatDuration)).toEqual(['850ms', '12.3s', '4m05s', '3h12m', '2d02h'])
    expect([null, 512 * 1024, 61.2 * 1024 ** 2, 1.5 * 1024 ** 3].map(formatBytes)).toEqual(['-', '512K', '61.2M', '1.50G'])
  })

  it('sorts busy workers first, the longest running first, then by state and number', () => {
    const rows = [row(1), row(2, { state: 'active', call: { method: 'a', running: 10 } }), row(3, { state: 'starting' }),
      row(4, { state: 'active', call: { method: 'b', running: 500 } }), row(5, { state: 'active', status: true })]
    expect(sortRows(rows).map((r) => r.id)).toEqual([4, 2, 5, 3, 1])
  })

  it('shows calls per second from the previous status, and totals with exit and kill reasons', () => {
    const before = status([row(1, { state: 'active', calls: 10 })], 10)
    const now = status([row(1, { state: 'active', calls: 30, call: { method: 'hash', running: 1_500 } }), row(2)], 30)
    const text = renderTop(now, { colour: false, width: Infinity, previous: { status: before, at: 1_000 }, at: 3_000 })
    const lines = text.split('\n')
    expect(lines[0]).toBe('forkd-server:app pid 42  /run/app.sock  listening  up 1m05s  v0.1.0')
    expect(lines[1]).toBe('workers: 2 active, 1 spare, 0 starting, 0 ending; 0 connections waiting, 0 refused')
    expect(lines[2]).toBe('calls: 30 total, 10.0/s   started 4, exited 1 (exits SIGKILL:1; killed hung:1)')
    expect(lines[4]).toBe('ID   PID  STATE    AGE    RSS  CALLS  CALLS/S  RUNNING  METHOD')
    expect(lines[5]).toBe(' 1  1001  active  5.0s  60.0M     30     10.0     1.5s  hash')
    expect(lines[6]).toBe(' 2  1002  spare   5.0s  60.0M      0        -')
  })

  it('colours a long-running call yellow and cuts lines to the width', () => {
    const text = renderTop(status([row(1, { state: 'active', call: { method: 'hash', running: 1_500 } })]), { colour: true, width: 20, at: 0 })
    const busy = text.split('\n')[5]!
    expect(busy).toBe('\x1b[33m 1  1001  active  5.\x1b[0m')
  })
})
