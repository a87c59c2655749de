import { describe, expect, it } from 'vitest'
import { EndpointSyntaxError, describeEndpoint, endpointUrl, parseEndpoint } from '@forkd/protocol'

describe('parseEndpoint', () => {
  it.each([
    ['/run/app.sock', '/run/app.sock'],
    ['localhost:8080', { host: 'localhost', port: 8080 }],
    ['127.0.0.2:7000', { host: '127.0.0.2', port: 7000 }],
    ['[::1]:7000', { host: '::1', port: 7000 }],
    [{ host: 'example.internal', port: 1 }, { host: 'example.internal', port: 1 }],
  ])('reads %j', (input, expected) => {
    expect(parseEndpoint(input)).toEqual(expected)
  })

  it.each([
    ['app.sock', 'an absolute socket path, "host:port" or { host, port }, got "app.sock"'],
    ['run/app.sock', 'a relative socket path is ambiguous'],
    ['localhost:0', 'with a port from 1 to 65535, got "localhost:0"'],
    ['localhost:70000', 'with a port from 1 to 65535'],
    ['', 'got ""'],
    [42, 'got 42'],
    [{ host: '', port: 80 }, 'got {"host":"","port":80}'],
    [{ host: 'h', port: 1.5 }, 'with a port from 1 to 65535'],
    [null, 'got null'],
  ])('refuses %j with a TypeError saying what is expected', (input, text) => {
    let error: unknown
    try {
      parseEndpoint(input)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(EndpointSyntaxError)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toContain(text)
  })

  it('allows port 0 only where asked (a server listening on any free port)', () => {
    expect(parseEndpoint('127.0.0.1:0', { allowPortZero: true })).toEqual({ host: '127.0.0.1', port: 0 })
  })
})

describe('describeEndpoint and endpointUrl', () => {
  it('name paths, IPv4 and IPv6 endpoints the way the CLI accepts them', () => {
    expect(describeEndpoint('/x.sock')).toBe('/x.sock')
    expect(describeEndpoint({ host: '::1', port: 7 })).toBe('[::1]:7')
    expect(endpointUrl('/x.sock')).toBe('ws+unix:///x.sock:/forkd')
    expect(endpointUrl({ host: '127.0.0.1', port: 7 }, '/forkd/status')).toBe('ws://127.0.0.1:7/forkd/status')
    expect(endpointUrl({ host: '::1', port: 7 }, '/forkd', true)).toBe('wss://[::1]:7/forkd')
  })
})
