import { Resolver } from 'node:dns/promises'
import { describe, expectTypeOf, it } from 'vitest'
import type { ClientOptions, ConnectTarget, DnsResolver, EndpointStats, NameStats, RemoveReason } from '@forkd/client'

describe('connect options', () => {
  it('take one endpoint, a list, { dns, port } or { srv }', () => {
    expectTypeOf<'/run/a.sock'>().toMatchTypeOf<ClientOptions['connect']>()
    expectTypeOf<{ host: string; port: number }>().toMatchTypeOf<ConnectTarget>()
    expectTypeOf<{ dns: string; port: number }>().toMatchTypeOf<ConnectTarget>()
    expectTypeOf<{ srv: string }>().toMatchTypeOf<ConnectTarget>()
    expectTypeOf<ConnectTarget[]>().toMatchTypeOf<ClientOptions['connect']>()
    // @ts-expect-error: a DNS name needs a port
    expectTypeOf<{ dns: string }>().toMatchTypeOf<ConnectTarget>()
  })

  it('take a dns.promises.Resolver as resolver', () => {
    expectTypeOf<Resolver>().toMatchTypeOf<DnsResolver>()
    expectTypeOf<DnsResolver>().toMatchTypeOf<NonNullable<ClientOptions['resolver']>>()
  })

  it('report endpoints and names in stats, and the new removal reasons', () => {
    expectTypeOf<EndpointStats['connections']>().toEqualTypeOf<{ idle: number; busy: number; connecting: number; releasing: number }>()
    expectTypeOf<NameStats['records']>().toEqualTypeOf<'A/AAAA' | 'SRV'>()
    expectTypeOf<'endpointRemoved'>().toMatchTypeOf<RemoveReason>()
    expectTypeOf<'unresponsive'>().toMatchTypeOf<RemoveReason>()
  })

  it('take trackCheckoutSites as true, false or "sampled", nothing else', () => {
    expectTypeOf<ClientOptions['trackCheckoutSites']>().toEqualTypeOf<boolean | 'sampled' | undefined>()
    // @ts-expect-error: no other word
    expectTypeOf<'all'>().toMatchTypeOf<ClientOptions['trackCheckoutSites']>()
  })
})
