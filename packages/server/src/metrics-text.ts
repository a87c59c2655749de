/**
 * The server's status as Prometheus text exposition format (version 0.0.4), what `GET /metrics`
 * answers. Written by hand rather than with prom-client: the server has no dependency for it, the
 * values are a snapshot of `status()` (nothing to accumulate), and the format is a few lines.
 * Names follow Prometheus' conventions: base units (seconds, bytes), `_total` for counters.
 */
import type { ServerStatus } from './server.js'

/** One metric family: its name, type, help and samples (labels, value). */
interface Family {
  name: string
  type: 'gauge' | 'counter'
  help: string
  samples: [Record<string, string>, number][]
}

/** A label value escaped as the text format requires (backslash, double quote, newline). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

function render(families: Family[]): string {
  let out = ''
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`
    for (const [labels, value] of f.samples) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      out += `${f.name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}\n`
    }
  }
  return out
}

/** The families of `status`; every sample carries the server's `name` label. */
export function metricsText(status: ServerStatus): string {
  const name = status.name
  const l = (labels: Record<string, string> = {}): Record<string, string> => ({ name, ...labels })
  const worker = (w: ServerStatus['workers'][number]) => l({ worker: String(w.id), pid: String(w.pid ?? '') })
  const families: Family[] = [
    { name: 'forkd_server_info', type: 'gauge', help: 'The server: always 1, its version and protocol as labels.',
      samples: [[l({ version: status.version, protocol: String(status.protocol), pid: String(status.pid) }), 1]] },
    { name: 'forkd_server_uptime_seconds', type: 'gauge', help: 'Seconds since the server started.', samples: [[l(), status.uptime / 1000]] },
    { name: 'forkd_workers', type: 'gauge', help: 'Live worker processes by state.',
      samples: (['starting', 'spare', 'active', 'ending'] as const).map((state) => [l({ state }), status[state === 'spare' ? 'spares' : state]]) },
    { name: 'forkd_pending_connections', type: 'gauge', help: 'Connections waiting for a worker.', samples: [[l(), status.pending]] },
    { name: 'forkd_workers_started_total', type: 'counter', help: 'Worker processes started.', samples: [[l(), status.started]] },
    { name: 'forkd_worker_exits_total', type: 'counter', help: 'Worker processes that exited, by exit code or signal.',
      samples: Object.entries(status.exits).map(([exit, n]) => [l({ exit }), n]) },
    { name: 'forkd_workers_killed_total', type: 'counter', help: 'Workers the server killed, by reason (hung, unresponsive, shutdown, startTimeout).',
      samples: Object.entries(status.killed).map(([reason, n]) => [l({ reason }), n]) },
    { name: 'forkd_connections_refused_total', type: 'counter', help: 'Connections refused with 503 (at maxWorkers, pending queue full).', samples: [[l(), status.refused]] },
    { name: 'forkd_calls_total', type: 'counter', help: 'Calls run by all workers, exited ones included.', samples: [[l(), status.calls]] },
    { name: 'forkd_worker_resident_memory_bytes', type: 'gauge', help: 'Resident set size of each live worker, as it last reported it.',
      samples: status.workers.filter((w) => w.rss !== null).map((w) => [worker(w), w.rss!]) },
    { name: 'forkd_worker_calls_total', type: 'counter', help: 'Calls each live worker has run.', samples: status.workers.map((w) => [worker(w), w.calls]) },
    { name: 'forkd_worker_call_running_seconds', type: 'gauge', help: 'How long the running call of each busy worker has run, by method.',
      samples: status.workers.filter((w) => w.call !== null).map((w) => [{ ...worker(w), method: w.call!.method }, w.call!.running / 1000]) },
  ]
  return render(families)
}
