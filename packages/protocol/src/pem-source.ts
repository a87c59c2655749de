/**
 * TLS keys and certificates given as PEM text, a Buffer, or the path of a PEM file: one reading for
 * the server's `tls` options and the client's, so both accept the same forms.
 */
import { readFileSync } from 'node:fs'

/** PEM text, a Buffer holding PEM, or the path of a PEM file. */
export type PemSource = string | Buffer

/** Whether `value` has the type a PemSource must have. */
export function isPemSource(value: unknown): value is PemSource {
  return (typeof value === 'string' && value.length > 0) || Buffer.isBuffer(value)
}

/**
 * The PEM text of `source`: a string holding `-----BEGIN` is PEM itself, any other string is a
 * path, read now. Throws an Error saying why a file cannot be read (never the file's content).
 */
export function readPem(source: PemSource): string {
  if (Buffer.isBuffer(source)) return source.toString('utf8')
  if (source.includes('-----BEGIN')) return source
  try {
    return readFileSync(source, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory' : (error as Error).message
    throw new Error(`cannot read ${source}: ${why}`, { cause: error })
  }
}

/** Whether `source` names a file (it is re-read on reload) rather than holding PEM itself. */
export function isPemPath(source: PemSource): boolean {
  return typeof source === 'string' && !source.includes('-----BEGIN')
}
