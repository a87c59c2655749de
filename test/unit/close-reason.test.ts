import { describe, expect, it } from 'vitest'
import { formatExitReason, maxCloseReasonBytes, parseExitReason, truncateUtf8 } from '@forkd/protocol'

describe('exit reasons in close frames', () => {
  it('round-trip an exit code and a signal through the token', () => {
    const byCode = formatExitReason({ exitCode: 3 }, 'worker exited with code 3')
    expect(byCode).toBe('code=3; worker exited with code 3')
    expect(parseExitReason(byCode)).toEqual({ exitCode: 3, text: 'worker exited with code 3' })
    const bySignal = formatExitReason({ signal: 'SIGKILL' }, 'worker killed: busy for more than 100 ms (hungWorkerTimeout)')
    expect(parseExitReason(bySignal)).toEqual({ signal: 'SIGKILL', text: 'worker killed: busy for more than 100 ms (hungWorkerTimeout)' })
  })

  it('reads no token from prose, even prose that mentions a signal or a code', () => {
    expect(parseExitReason('worker killed by SIGKILL')).toBeUndefined()
    expect(parseExitReason('closed with code 1009')).toBeUndefined()
    expect(parseExitReason('')).toBeUndefined()
  })

  it('fits a close frame, cutting long text at a UTF-8 character boundary', () => {
    const reason = formatExitReason({ exitCode: 1 }, 'é'.repeat(200))
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(maxCloseReasonBytes)
    expect(reason).not.toContain('\ufffd')
    expect(parseExitReason(reason)?.exitCode).toBe(1)
    expect(truncateUtf8('€€€', 4)).toBe('€')
    expect(truncateUtf8('short')).toBe('short')
  })
})
