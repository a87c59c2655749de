/**
 * A Dockerfile read the way `docker build` reads it, so a test can run its instructions on a
 * machine without Docker: parser directives, comments, line continuations (also across comment
 * lines), exec form (a JSON array) and shell form of RUN, CMD, ENTRYPOINT and HEALTHCHECK, ENV in
 * both forms, and how ENTRYPOINT and CMD combine into the container's command.
 *
 * Only what the deploy kit needs is known; anything else (another instruction, a flag, a variable
 * to substitute, a glob, a second stage) is a DockerfileError naming the line, never silently
 * skipped: a test that ran "the Dockerfile" must have run all of it.
 */

/** The Dockerfile uses something the script cannot run on this machine, or is malformed. */
export class DockerfileError extends Error {
  constructor(line: number, message: string) {
    super(`Dockerfile line ${line}: ${message}`)
    this.name = 'DockerfileError'
  }
}

/** One instruction, continuations joined; `line` is where it starts (1-based). */
export interface Instruction {
  keyword: string
  args: string
  line: number
}

/**
 * The instructions of a Dockerfile. As docker does: a trailing backslash joins the next line
 * (removing backslash and newline, nothing else), comment and empty lines inside a continuation
 * are dropped, keywords are case-insensitive.
 */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let pending: { text: string; line: number } | undefined
  let directives = true
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = i + 1
    if (directives) {
      const directive = /^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/.exec(raw)
      if (directive !== null) {
        if (directive[1]!.toLowerCase() === 'escape' && directive[2] !== '\\') throw new DockerfileError(line, `the escape directive ${JSON.stringify(directive[2])} is not supported (only \\)`)
        continue
      }
      directives = false
    }
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const continued = /\\[ \t]*$/.exec(raw)
    const piece = continued === null ? raw : raw.slice(0, continued.index)
    pending = pending === undefined ? { text: piece, line } : { text: pending.text + piece, line: pending.line }
    if (continued !== null) continue
    out.push(instruction(pending.text, pending.line))
    pending = undefined
  }
  // docker accepts a file that ends inside a continuation
  if (pending !== undefined) out.push(instruction(pending.text, pending.line))
  return out
}

function instruction(text: string, line: number): Instruction {
  const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(text)
  if (match === null) throw new DockerfileError(line, `not an instruction: ${text.trim()}`)
  const keyword = match[1]!.toUpperCase()
  const args = (match[2] ?? '').trim()
  if (args === '') throw new DockerfileError(line, `${keyword} has no arguments`)
  return { keyword, args, line }
}

/** A command as the Dockerfile gives it: exec form runs as it is, shell form through `/bin/sh -c`. */
export type CommandForm = { exec: string[] } | { shell: string }

/** Exec form when the arguments are a JSON array of strings; otherwise shell form, as docker decides. */
export function commandForm(args: string): CommandForm {
  if (args.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(args)
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((a) => typeof a === 'string')) return { exec: parsed as string[] }
    } catch {
      // not JSON: docker runs it as a shell command
    }
  }
  return { shell: args }
}

/** The argv that runs a command form. */
export function argv(command: CommandForm): string[] {
  return 'exec' in command ? command.exec : ['/bin/sh', '-c', command.shell]
}

/**
 * Words of an instruction's arguments, with shell-like quoting: '...' literal, "..." with \\ \"
 * and \$ escapes, a backslash escaping one character outside quotes. A `$` that docker would
 * substitute is refused: the script does not substitute build variables.
 */
export function words(text: string, line: number): string[] {
  const out: string[] = []
  let word: string | undefined
  let quote: "'" | '"' | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (c === '\\' && i + 1 < text.length && (quote === undefined || '"\\$'.includes(text[i + 1]!))) {
      word = (word ?? '') + text[++i]
    } else if (c === '$') {
      throw new DockerfileError(line, `${JSON.stringify(text)} uses $, a variable the script does not substitute`)
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else word += c
    } else if (c === "'" || c === '"') {
      quote = c
      word ??= ''
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word)
      word = undefined
    } else {
      word = (word ?? '') + c
    }
  }
  if (quote !== undefined) throw new DockerfileError(line, `unterminated ${quote} in ${JSON.stringify(text)}`)
  if (word !== undefined) out.push(word)
  return out
}

/** `ENV K=V K2="V 2"`, or the old `ENV K the rest of the line`. */
export function parseEnv(args: string, line: number): [string, string][] {
  const key = (k: string) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new DockerfileError(line, `ENV: ${JSON.stringify(k)} is not a variable name`)
    return k
  }
  const first = /^(\S+)\s*([\s\S]*)$/.exec(args)!
  if (!first[1]!.includes('=')) {
    if (first[2] === '') throw new DockerfileError(line, `ENV ${first[1]} has no value`)
    return [[key(first[1]!), words(first[2]!, line).join(' ')]]
  }
  return words(args, line).map((w) => {
    const eq = w.indexOf('=')
    if (eq <= 0) throw new DockerfileError(line, `ENV: ${JSON.stringify(w)} is not NAME=VALUE`)
    return [key(w.slice(0, eq)), w.slice(eq + 1)]
  })
}

/** A Go duration as docker takes it (`30s`, `1m30s`, `500ms`), in milliseconds. */
export function durationMs(text: string, line: number): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new DockerfileError(line, `${JSON.stringify(text)} is not a duration (e.g. 30s, 1m30s)`)
  let ms = 0
  for (const [, n, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * units[unit!]!
  return ms
}

/** HEALTHCHECK with docker's defaults for what it does not say (times in ms). */
export interface Healthcheck {
  command: CommandForm
  interval: number
  timeout: number
  startPeriod: number
  startInterval: number
  retries: number
}

/** `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N] CMD ...`; undefined for NONE. */
export function parseHealthcheck(args: string, line: number): Healthcheck | undefined {
  if (args.toUpperCase() === 'NONE') return undefined
  const check: Omit<Healthcheck, 'command'> = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 }
  const durations = { interval: 'interval', timeout: 'timeout', 'start-period': 'startPeriod', 'start-interval': 'startInterval' } as const
  let rest = args
  for (let option = /^--([a-z-]+)=(\S+)\s+/.exec(rest); option !== null; option = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    const [whole, name, value] = option as unknown as [string, string, string]
    if (name === 'retries') {
      if (!/^\d+$/.test(value)) throw new DockerfileError(line, `HEALTHCHECK --retries=${value} is not a count`)
      check.retries = Number(value)
    } else if (name in durations) {
      check[durations[name as keyof typeof durations]] = durationMs(value, line)
    } else {
      throw new DockerfileError(line, `HEALTHCHECK --${name} is not an option the script knows`)
    }
    rest = rest.slice(whole.length)
  }
  const cmd = /^CMD\s+([\s\S]+)$/i.exec(rest)
  if (cmd === null) throw new DockerfileError(line, `HEALTHCHECK needs CMD after its options, got ${JSON.stringify(rest)}`)
  return { ...check, command: commandForm(cmd[1]!) }
}

/** What `docker build` does, step by step, to the image's files and environment. */
export type BuildStep =
  | { kind: 'env'; vars: [string, string][]; line: number }
  | { kind: 'workdir'; path: string; line: number }
  | { kind: 'copy'; sources: string[]; destination: string; line: number }
  | { kind: 'run'; command: CommandForm; line: number }

/** A single-stage Dockerfile: how the image is built and how its container runs. */
export interface Image {
  /** The base image (FROM). */
  from: string
  build: BuildStep[]
  /** The last USER, if any: the user the container's processes run as. */
  user?: string
  /** Ports the image documents (EXPOSE), as written (`7400`, `7400/tcp`). */
  expose: string[]
  healthcheck?: Healthcheck
  /** ENTRYPOINT and CMD combined, as docker combines them. */
  command: string[]
}

/**
 * Reads a Dockerfile into the steps that build its image and the command its container runs.
 * Throws DockerfileError for anything the script does not know.
 */
export function readImage(text: string): Image {
  let from: string | undefined
  const build: BuildStep[] = []
  const image: Omit<Image, 'from' | 'build' | 'command'> = { expose: [] }
  let entrypoint: CommandForm | undefined
  let cmd: CommandForm | undefined
  for (const { keyword, args, line } of parseDockerfile(text)) {
    if (from === undefined && keyword !== 'FROM') throw new DockerfileError(line, `${keyword} before FROM`)
    switch (keyword) {
      case 'FROM':
        if (from !== undefined) throw new DockerfileError(line, 'a second FROM: the script runs single-stage Dockerfiles only')
        if (!/^[^\s-]\S*$/.test(args) || args.includes('$')) throw new DockerfileError(line, `FROM ${args}: the script knows FROM IMAGE only (no flags, no AS, no variables)`)
        from = args
        break
      case 'ENV':
        build.push({ kind: 'env', vars: parseEnv(args, line), line })
        break
      case 'WORKDIR':
        if (args.includes('$')) throw new DockerfileError(line, `WORKDIR ${args} uses $, a variable the script does not substitute`)
        build.push({ kind: 'workdir', path: args, line })
        break
      case 'COPY': {
        if (args.startsWith('--')) throw new DockerfileError(line, `COPY ${args.split(/\s/)[0]} is a flag the script does not know`)
        const form = commandForm(args)
        const paths = 'exec' in form ? form.exec : words(args, line)
        if (paths.length < 2) throw new DockerfileError(line, 'COPY needs at least one source and a destination')
        const glob = paths.find((p) => /[*?[]/.test(p))
        if (glob !== undefined) throw new DockerfileError(line, `COPY ${glob}: the script does not expand globs`)
        build.push({ kind: 'copy', sources: paths.slice(0, -1), destination: paths.at(-1)!, line })
        break
      }
      case 'RUN':
        if (args.startsWith('--')) throw new DockerfileError(line, `RUN ${args.split(/\s/)[0]} is a flag the script does not know`)
        build.push({ kind: 'run', command: commandForm(args), line })
        break
      case 'USER':
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(args)) throw new DockerfileError(line, `USER ${args} is not a user[:group]`)
        image.user = args
        break
      case 'EXPOSE':
        image.expose.push(...words(args, line))
        break
      case 'HEALTHCHECK': {
        const check = parseHealthcheck(args, line)
        if (check === undefined) delete image.healthcheck
        else image.healthcheck = check
        break
      }
      case 'ENTRYPOINT':
        entrypoint = commandForm(args)
        // docker: a new ENTRYPOINT resets the CMD inherited so far; none is inherited here
        break
      case 'CMD':
        cmd = commandForm(args)
        break
      case 'LABEL':
        // metadata only: nothing to run
        break
      default:
        throw new DockerfileError(line, `the script does not know the instruction ${keyword}; teach test/support/dockerfile.ts what it does first`)
    }
  }
  if (from === undefined) throw new DockerfileError(1, 'no FROM')
  return { from, build, ...image, command: containerCommand(entrypoint, cmd) }
}

/**
 * The container's argv, as docker builds it: an exec-form ENTRYPOINT takes CMD as its arguments
 * (a shell-form CMD as `/bin/sh -c CMD`); a shell-form ENTRYPOINT ignores CMD; without ENTRYPOINT,
 * CMD is the command.
 */
export function containerCommand(entrypoint: CommandForm | undefined, cmd: CommandForm | undefined): string[] {
  if (entrypoint !== undefined && 'shell' in entrypoint) return argv(entrypoint)
  const args = cmd === undefined ? [] : argv(cmd)
  const command = [...(entrypoint?.exec ?? []), ...args]
  if (command.length === 0) throw new DockerfileError(1, 'neither ENTRYPOINT nor CMD: the container has no command')
  return command
}
