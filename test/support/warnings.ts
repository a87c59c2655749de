/** Process warnings a test expects: collected while a test runs, by code. */

export interface CapturedWarning {
  code: string | undefined
  message: string
}

/**
 * Collects every process warning from now until `stop()`. Node still prints them (that is only
 * stderr noise); the list is what tests assert.
 */
export function captureWarnings(): { warnings: CapturedWarning[]; withCode(code: string): CapturedWarning[]; stop(): void } {
  const warnings: CapturedWarning[] = []
  const onWarning = (warning: Error & { code?: string }) => void warnings.push({ code: warning.code, message: warning.message })
  process.on('warning', onWarning)
  return {
    warnings,
    withCode: (code) => warnings.filter((w) => w.code === code),
    stop: () => void process.off('warning', onWarning),
  }
}
