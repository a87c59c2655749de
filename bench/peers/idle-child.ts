/**
 * The memory yardstick: a bare node process that has imported ws and cbor-x (what a forkd worker
 * needs to speak the protocol) and does nothing else. `--no-imports` makes it a plain idle node.
 *
 *   node idle-child.js [--no-imports]   → IPC { type: 'ready' }, stops on IPC { type: 'stop' }
 */
if (process.argv[2] !== '--no-imports') {
  await import('ws')
  await import('cbor-x')
}
process.send?.({ type: 'ready' })
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') process.exit(0)
})
process.on('disconnect', () => process.exit(0))
