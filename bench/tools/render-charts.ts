/**
 * Renders the charts of a saved run again (e.g. after a change to bench/lib/render-svg.ts), from
 * the JSON that `npm run bench -- --json FILE` wrote, without running anything.
 *
 *   node bench/dist/tools/render-charts.js FILE.json DIR
 */
import { readFileSync } from 'node:fs'
import type { Chart } from '../lib/context.js'
import { writeCharts } from '../lib/render-svg.js'

const [file, dir] = process.argv.slice(2)
if (file === undefined || dir === undefined) {
  console.error('usage: render-charts.js FILE.json DIR')
  process.exit(2)
}
const saved = JSON.parse(readFileSync(file, 'utf8')) as { results: { charts?: Chart[] }[] }
const written = await writeCharts(saved.results.flatMap((r) => r.charts ?? []), dir)
for (const path of written) console.log(path)
