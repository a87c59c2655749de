/**
 * Renders charts to SVG with vega-lite (specification → vega) and vega's headless SVG renderer: no
 * browser and no canvas. Loaded only when a run writes charts.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Chart } from './context.js'

/**
 * Advance widths (in em) by character class of DejaVu Sans, the widest of the sans-serif fonts a
 * viewer is likely to substitute (Helvetica and Arial are narrower): a layout made for it does not
 * clip text in the others.
 */
function charWidth(ch: string): number {
  if (' .,:;'.includes(ch)) return 0.32
  if ('iIjl!|\''.includes(ch)) return 0.29
  if ('frt()[]{}/\\-'.includes(ch)) return 0.4
  if ('mwMW%@→×'.includes(ch)) return 0.92
  if (ch >= '0' && ch <= '9') return 0.64
  if (ch >= 'A' && ch <= 'Z') return 0.72
  return 0.62
}

interface TextItem {
  fontSize?: number
  fontWeight?: string | number
  text?: unknown
}

/**
 * Without a canvas, vega estimates every text at 0.8 em per character, which leaves wide margins
 * around titles and truncates axis labels; vega lets a headless user supply the measure
 * (`textMetrics.width`), and a table of widths per character class is close enough for layout.
 */
function estimateWidth(item: TextItem, text?: unknown): number {
  const s = String(text ?? item.text ?? '')
  let em = 0
  for (const ch of s) em += charWidth(ch)
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600
  return em * (item.fontSize ?? 11) * (bold ? 1.1 : 1)
}

export async function renderSvg(chart: Chart): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')])
  ;(vega as unknown as { textMetrics: { width: typeof estimateWidth } }).textMetrics.width = estimateWidth
  const view = new vega.View(vega.parse(vegaLite.compile(chart.spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** Writes every chart into `dir` (created if missing); returns the files written. */
export async function writeCharts(charts: readonly Chart[], dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true })
  const written: string[] = []
  for (const chart of charts) {
    const path = join(dir, chart.file)
    writeFileSync(path, `${await renderSvg(chart)}\n`)
    written.push(path)
  }
  return written
}
