import { describe, expectTypeOf, it } from 'vitest'
import { AuthError, ConnectError, type ClientAuthOptions, type ClientOptions, type ClientTlsOptions } from '@forkd/client'

describe('tls and auth options', () => {
  it('take PEM text, Buffers or paths, and a token or a function returning one', () => {
    expectTypeOf<{ ca: string; cert: Buffer; key: string; servername: string }>().toMatchTypeOf<ClientTlsOptions>()
    expectTypeOf<{ ca: string[] }>().toMatchTypeOf<ClientTlsOptions>()
    expectTypeOf<ClientTlsOptions | undefined>().toEqualTypeOf<ClientOptions['tls']>()
    expectTypeOf<{ token: string }>().toMatchTypeOf<ClientAuthOptions>()
    expectTypeOf<{ token: () => string }>().toMatchTypeOf<ClientAuthOptions>()
    // @ts-expect-error: a token is not a number
    expectTypeOf<{ token: number }>().toMatchTypeOf<ClientAuthOptions>()
  })

  it('refuse credentials with an AuthError, a ConnectError with the HTTP status', () => {
    expectTypeOf<AuthError>().toMatchTypeOf<ConnectError>()
    expectTypeOf<AuthError['status']>().toEqualTypeOf<number | undefined>()
  })
})
