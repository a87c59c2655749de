/**
 * Prometheus text parsed by an independent parser (parse-prometheus-text-format, a port of the
 * Prometheus Python client's), so a test proves the output is valid exposition format, and reads
 * its values by name and labels. That parser folds labelled histograms together (it keeps the
 * buckets of unlabelled ones only), so histogram samples are read line by line (`samplesOf`)
 * from text it has accepted.
 */
// @ts-expect-error: the package ships no type declarations; its one export is typed below.
import parseText from 'parse-prometheus-text-format'

export interface ParsedSample {
  value?: string
  labels?: Record<string, string>
  buckets?: Record<string, string>
  count?: string
  sum?: string
}

export interface ParsedFamily {
  name: string
  help: string
  type: 'GAUGE' | 'COUNTER' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: ParsedSample[]
}

/** Parses `text`; throws (InvalidLineError) on any line that is not valid exposition format. */
export function parsePrometheus(text: string): ParsedFamily[] {
  return (parseText as (text: string) => ParsedFamily[])(text)
}

/** The family named `name`; throws when there is none. */
export function family(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name)
  if (found === undefined) throw new Error(`no metric family ${name} among ${families.map((f) => f.name).join(', ')}`)
  return found
}

/** The numeric value of the sample of `name` whose labels include `labels`; throws when none or several match. */
export function sampleValue(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const matches = family(families, name).metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return Number(matches[0]!.value)
}

export interface RawSample {
  labels: Record<string, string>
  value: number
}

/** Label values of a sample line, unescaped (`\\`, `\"`, `\n`). */
function parseLabels(body: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const label = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy
  let match: RegExpExecArray | null
  let end = 0
  while ((match = label.exec(body)) !== null) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c))
    end = label.lastIndex
  }
  if (end !== body.length) throw new Error(`unreadable labels: {${body}}`)
  return labels
}

/** Every sample line of `text` named exactly `name` (e.g. `x_bucket`), after checking the whole text parses. */
export function samplesOf(text: string, name: string): RawSample[] {
  parsePrometheus(text)
  const out: RawSample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`unreadable sample line: ${line}`)
    if (match[1] !== name) continue
    out.push({ labels: match[2] === undefined ? {} : parseLabels(match[2]), value: match[3] === '+Inf' ? Infinity : Number(match[3]) })
  }
  return out
}

/** The histogram `name` for the samples whose labels include `labels`: buckets by `le`, count and sum. */
export function histogramOf(text: string, name: string, labels: Record<string, string>): { buckets: [number, number][]; count: number; sum: number } {
  const mine = (s: RawSample) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  const buckets = samplesOf(text, `${name}_bucket`).filter(mine).map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value] as [number, number])
  const one = (suffix: string) => {
    const found = samplesOf(text, `${name}_${suffix}`).filter(mine)
    if (found.length !== 1) throw new Error(`${found.length} samples of ${name}_${suffix} match ${JSON.stringify(labels)}`)
    return found[0]!.value
  }
  return { buckets: buckets.sort((a, b) => a[0] - b[0]), count: one('count'), sum: one('sum') }
}
