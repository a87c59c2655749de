/**
 * CBOR as the conformance suite sees it: every item with its exact encoding (integer or float,
 * which width, definite or not), which a JavaScript decoder forgets (cbor-x gives 1 for both 0x01
 * and the float 1.0). Independent of the codec under test, so that the suite checks bytes, not the
 * codec against itself. Also prints diagnostic notation (RFC 8949 section 8) and matches items
 * against the suite's JSON matchers (packages/protocol/conformance/README.md).
 */

export type Item =
  | { kind: 'uint' | 'nint'; value: bigint; raw: Buffer; width: number }
  | { kind: 'bytes' | 'text'; value: Buffer; raw: Buffer; width: number; chunks?: Item[] }
  | { kind: 'array'; items: Item[]; raw: Buffer; width: number }
  | { kind: 'map'; entries: [Item, Item][]; raw: Buffer; width: number }
  | { kind: 'tag'; tag: bigint; item: Item; raw: Buffer; width: number }
  | { kind: 'simple'; value: number; raw: Buffer; width: number }
  | { kind: 'float'; value: number; raw: Buffer; width: number }

/** Additional information → the width code of diagnostic notation's encoding indicators (_0.._3); -1: indefinite. */
const widthOf = (info: number) => (info < 24 ? -2 : info === 31 ? -1 : info - 24)

class Reader {
  pos = 0
  constructor(readonly buf: Buffer) {}

  item(): Item {
    const start = this.pos
    const head = this.byte()
    const major = head >> 5
    const info = head & 0x1f
    const width = widthOf(info)
    if (major === 7) {
      if (info === 25) return this.float(start, width, this.take(2).readUInt16BE(0), 'half')
      if (info === 26) return this.float(start, width, this.take(4).readFloatBE(0))
      if (info === 27) return this.float(start, width, this.take(8).readDoubleBE(0))
      if (info === 31) throw new Error(`break code outside an indefinite-length item at ${start}`)
      const value = info === 24 ? this.byte() : info
      return { kind: 'simple', value, raw: this.raw(start), width }
    }
    if (info === 31) {
      if (major === 2 || major === 3) {
        // chunks of definite-length strings of the same major type (which forkd refuses)
        const chunks: Item[] = []
        while (this.peek() !== 0xff) chunks.push(this.item())
        this.pos++
        const value = Buffer.concat(chunks.map((c) => (c.kind === 'bytes' || c.kind === 'text' ? c.value : Buffer.alloc(0))))
        return { kind: major === 2 ? 'bytes' : 'text', value, raw: this.raw(start), width, chunks }
      }
      if (major === 4 || major === 5) {
        const items: Item[] = []
        while (this.peek() !== 0xff) items.push(this.item())
        this.pos++
        if (major === 4) return { kind: 'array', items, raw: this.raw(start), width }
        return { kind: 'map', entries: pairs(items), raw: this.raw(start), width }
      }
      throw new Error(`indefinite length on major type ${major} at ${start}`)
    }
    const arg = this.argument(info)
    switch (major) {
      case 0:
        return { kind: 'uint', value: arg, raw: this.raw(start), width }
      case 1:
        return { kind: 'nint', value: -1n - arg, raw: this.raw(start), width }
      case 2:
      case 3:
        return { kind: major === 2 ? 'bytes' : 'text', value: this.take(Number(arg)), raw: this.raw(start), width }
      case 4:
        return { kind: 'array', items: Array.from({ length: Number(arg) }, () => this.item()), raw: this.raw(start), width }
      case 5:
        return { kind: 'map', entries: Array.from({ length: Number(arg) }, () => [this.item(), this.item()] as [Item, Item]), raw: this.raw(start), width }
      default:
        return { kind: 'tag', tag: arg, item: this.item(), raw: this.raw(start), width }
    }
  }

  argument(info: number): bigint {
    if (info < 24) return BigInt(info)
    if (info === 24) return BigInt(this.byte())
    if (info === 25) return BigInt(this.take(2).readUInt16BE(0))
    if (info === 26) return BigInt(this.take(4).readUInt32BE(0))
    if (info === 27) return this.take(8).readBigUInt64BE(0)
    throw new Error(`reserved additional information ${info} at ${this.pos - 1}`)
  }

  float(start: number, width: number, value: number, half?: 'half'): Item {
    return { kind: 'float', value: half === undefined ? value : halfToNumber(value), raw: this.raw(start), width }
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('truncated CBOR')
    return this.buf[this.pos++]!
  }

  peek(): number {
    if (this.pos >= this.buf.length) throw new Error('truncated CBOR')
    return this.buf[this.pos]!
  }

  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('truncated CBOR')
    this.pos += n
    return this.buf.subarray(this.pos - n, this.pos)
  }

  raw(start: number): Buffer {
    return this.buf.subarray(start, this.pos)
  }
}

function pairs(items: Item[]): [Item, Item][] {
  if (items.length % 2 !== 0) throw new Error('indefinite-length map with an odd number of items')
  const out: [Item, Item][] = []
  for (let i = 0; i < items.length; i += 2) out.push([items[i]!, items[i + 1]!])
  return out
}

function halfToNumber(h: number): number {
  const exp = (h >> 10) & 0x1f
  const mant = h & 0x3ff
  const sign = h & 0x8000 ? -1 : 1
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/** The items of a CBOR sequence (one frame's messages), each with its bytes. */
export function parseSequence(buf: Buffer): Item[] {
  const reader = new Reader(buf)
  const items: Item[] = []
  while (reader.pos < buf.length) items.push(reader.item())
  return items
}

/**
 * Diagnostic notation, with an encoding indicator (`_0`..`_3`) wherever an argument is longer than
 * needed and on every float. With `lengths` false the indicators of string, array and map lengths
 * are left out: the suite requires exact integer and float encodings, not the shortest length heads.
 */
export function diag(item: Item, lengths = true): string {
  const indicator = (shortest: number) => (item.width >= 0 && item.width !== shortest ? `_${item.width}` : '')
  const lengthIndicator = (n: number) => (lengths ? indicator(shortestWidth(BigInt(n))) : '')
  const inner = (child: Item) => diag(child, lengths)
  switch (item.kind) {
    case 'uint':
    case 'nint': {
      const n = item.kind === 'uint' ? item.value : -1n - item.value
      return `${item.value}${indicator(shortestWidth(n))}`
    }
    case 'bytes':
      if (item.chunks !== undefined) return `(_ ${item.chunks.map(inner).join(', ')})`
      return `h'${item.value.toString('hex')}'${lengthIndicator(item.value.length)}`
    case 'text':
      if (item.chunks !== undefined) return `(_ ${item.chunks.map(inner).join(', ')})`
      return `${JSON.stringify(item.value.toString('utf8'))}${lengthIndicator(item.value.length)}`
    case 'array': {
      const open = item.width === -1 ? '[_ ' : `[${spaced(lengthIndicator(item.items.length))}`
      return `${open}${item.items.map(inner).join(', ')}]`
    }
    case 'map': {
      const open = item.width === -1 ? '{_ ' : `{${spaced(lengthIndicator(item.entries.length))}`
      return `${open}${item.entries.map(([k, v]) => `${inner(k)}: ${inner(v)}`).join(', ')}}`
    }
    case 'tag':
      return `${item.tag}(${inner(item.item)})`
    case 'simple':
      return ({ 20: 'false', 21: 'true', 22: 'null', 23: 'undefined' } as Record<number, string>)[item.value] ?? `simple(${item.value})`
    case 'float': {
      const v = item.value
      const text = Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : Object.is(v, -0) ? '-0.0' : Number.isInteger(v) ? v.toFixed(1) : String(v)
      return `${text}_${item.width}`
    }
  }
}

/** `[_1 1, 2]`: an indicator after an opening bracket is followed by a space. */
const spaced = (indicator: string) => (indicator === '' ? '' : `${indicator} `)

function shortestWidth(n: bigint): number {
  if (n < 24n) return -2
  if (n < 0x100n) return 0
  if (n < 0x10000n) return 1
  if (n < 0x1_0000_0000n) return 2
  return 3
}

/** Diagnostic notation of every message of a frame, comma-separated (a CBOR sequence). */
export function diagSequence(buf: Buffer, lengths = true): string {
  return parseSequence(buf).map((item) => diag(item, lengths)).join(', ')
}

/** A plain JavaScript rendering of an item (integers as numbers when safe, else bigints). */
export function toPlain(item: Item): unknown {
  switch (item.kind) {
    case 'uint':
    case 'nint':
      return item.value >= BigInt(Number.MIN_SAFE_INTEGER) && item.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(item.value) : item.value
    case 'bytes':
      return Buffer.from(item.value)
    case 'text':
      return item.value.toString('utf8')
    case 'array':
      return item.items.map(toPlain)
    case 'map':
      return Object.fromEntries(item.entries.map(([k, v]) => [String(toPlain(k)), toPlain(v)]))
    case 'tag':
      return { tag: Number(item.tag), value: toPlain(item.item) }
    case 'simple':
      return ({ 20: false, 21: true, 22: null, 23: undefined } as Record<number, unknown>)[item.value]
    case 'float':
      return item.value
  }
}

const typeTests: Record<string, (item: Item) => boolean> = {
  uint: (i) => i.kind === 'uint',
  int: (i) => i.kind === 'uint' || i.kind === 'nint',
  float: (i) => i.kind === 'float',
  text: (i) => i.kind === 'text',
  bytes: (i) => i.kind === 'bytes',
  array: (i) => i.kind === 'array',
  map: (i) => i.kind === 'map',
  bool: (i) => i.kind === 'simple' && (i.value === 20 || i.value === 21),
}

/**
 * Checks `item` against a matcher (README.md, "Matchers"); returns the mismatches, each naming its
 * path, empty when it matches.
 */
export function match(item: Item, matcher: unknown, path = '$'): string[] {
  const fail = (why: string) => [`${path}: ${why}, got ${diag(item).slice(0, 200)}`]
  if (matcher === null) return item.kind === 'simple' && item.value === 22 ? [] : fail('expected null')
  if (typeof matcher === 'boolean') return item.kind === 'simple' && item.value === (matcher ? 21 : 20) ? [] : fail(`expected ${matcher}`)
  if (typeof matcher === 'string') return item.kind === 'text' && item.value.toString('utf8') === matcher ? [] : fail(`expected ${JSON.stringify(matcher)}`)
  if (typeof matcher === 'number') {
    if (Number.isInteger(matcher)) return (item.kind === 'uint' || item.kind === 'nint') && item.value === BigInt(matcher) ? [] : fail(`expected the integer ${matcher}`)
    return item.kind === 'float' && item.value === matcher ? [] : fail(`expected the float ${matcher}`)
  }
  if (Array.isArray(matcher)) {
    if (item.kind !== 'array') return fail('expected an array')
    if (item.items.length !== matcher.length) return fail(`expected an array of ${matcher.length}`)
    return item.items.flatMap((child, i) => match(child, matcher[i], `${path}[${i}]`))
  }
  const m = matcher as Record<string, unknown>
  if (!Object.keys(m).some((k) => k.startsWith('$'))) return matchMap(item, m, path)
  const unknown = Object.keys(m).filter((k) => !['$type', '$min', '$regex', '$hex'].includes(k))
  if (unknown.length > 0) return fail(`the case uses unknown matcher keys ${unknown.join(', ')}`)
  if ('$type' in m && !(typeTests[m.$type as string] ?? (() => false))(item)) return fail(`expected a ${m.$type as string}`)
  if ('$min' in m && !((item.kind === 'uint' || item.kind === 'nint') && item.value >= BigInt(m.$min as number))) return fail(`expected an integer ≥ ${m.$min as number}`)
  if ('$regex' in m && !(item.kind === 'text' && new RegExp(m.$regex as string, 'su').test(item.value.toString('utf8')))) return fail(`expected text matching /${m.$regex as string}/`)
  if ('$hex' in m && item.raw.toString('hex') !== (m.$hex as string).replace(/\s+/g, '')) return fail(`expected the encoding ${m.$hex as string}`)
  return []
}

function matchMap(item: Item, m: Record<string, unknown>, path: string): string[] {
  if (item.kind !== 'map') return [`${path}: expected a map, got ${diag(item).slice(0, 200)}`]
  const byKey = new Map<string, Item>()
  for (const [k, v] of item.entries) {
    if (k.kind !== 'text') return [`${path}: expected text keys only, got ${diag(k)}`]
    byKey.set(k.value.toString('utf8'), v)
  }
  const errors: string[] = []
  for (const [key, wanted] of Object.entries(m)) {
    const value = byKey.get(key)
    if (value === undefined) errors.push(`${path}.${key}: missing`)
    else errors.push(...match(value, wanted, `${path}.${key}`))
  }
  for (const key of byKey.keys()) if (!(key in m)) errors.push(`${path}.${key}: unexpected key`)
  return errors
}
