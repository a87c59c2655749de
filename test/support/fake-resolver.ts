/**
 * A DNS resolver with no network behind it, for unit tests of endpoint discovery: the test sets
 * the answers per name and record type (a list, an error, or nothing: "no such records").
 */
import type { DnsResolver } from '@forkd/client'

type Answer<T> = T[] | Error | undefined
export interface SrvAnswer { name: string; port: number; priority: number; weight: number }

/** An error as c-ares gives it: a message and a code. */
export function dnsError(code: string, name = ''): Error {
  return Object.assign(new Error(`query ${code} ${name}`), { code })
}

export class FakeResolver implements DnsResolver {
  readonly a = new Map<string, Answer<string>>()
  readonly aaaa = new Map<string, Answer<string>>()
  readonly srv = new Map<string, Answer<SrvAnswer>>()
  /** Every query, in order: `A name`, `AAAA name`, `SRV name`. */
  readonly queries: string[] = []

  resolve4(name: string): Promise<string[]> {
    this.queries.push(`A ${name}`)
    return answer(this.a.get(name), name)
  }

  resolve6(name: string): Promise<string[]> {
    this.queries.push(`AAAA ${name}`)
    return answer(this.aaaa.get(name), name)
  }

  resolveSrv(name: string): Promise<SrvAnswer[]> {
    this.queries.push(`SRV ${name}`)
    return answer(this.srv.get(name), name)
  }

  /** How many queries of `kind name` were made. */
  count(query: string): number {
    return this.queries.filter((q) => q === query).length
  }
}

function answer<T>(value: Answer<T>, name: string): Promise<T[]> {
  if (value === undefined) return Promise.reject(dnsError('ENODATA', name))
  if (value instanceof Error) return Promise.reject(value)
  return Promise.resolve([...value])
}
