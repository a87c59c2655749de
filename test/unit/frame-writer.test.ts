import { describe, expect, it } from 'vitest'
import { Codec, FrameWriter, MessageType, UnencodableError } from '@forkd/protocol'

const codec = new Codec()
const call = (id: number) => codec.encode([MessageType.Call, id, 0, 'echo', [id], 0])
const done = codec.encode([MessageType.Done])

function writer(options?: ConstructorParameters<typeof FrameWriter>[1]) {
  const frames: unknown[][] = []
  const w = new FrameWriter((frame) => frames.push(codec.decodeFrame(frame)), options)
  return { w, frames }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('FrameWriter', () => {
  it('sends the messages queued in one microtask checkpoint as one frame, in order', async () => {
    const { w, frames } = writer()
    w.queue(call(1), true)
    w.queue(call(2), true)
    w.queue(call(3), true)
    expect(frames).toHaveLength(0)
    await Promise.resolve()
    expect(frames).toHaveLength(1)
    expect(frames[0]!.map((m) => (m as unknown[])[1])).toEqual([1, 2, 3])
  })

  it('sends a lazily queued message with whatever the same turn queues next, or at the end of the turn', async () => {
    const { w, frames } = writer()
    w.queueLazily(done)
    await Promise.resolve()
    expect(frames).toHaveLength(0)
    w.queue(call(1), true)
    await Promise.resolve()
    expect(frames).toHaveLength(1)
    expect(frames[0]!.map((m) => (m as unknown[])[0])).toEqual([MessageType.Done, MessageType.Call])
    w.queueLazily(done)
    await tick()
    expect(frames).toHaveLength(2)
  })

  it('flushes early at the message limit and at the byte limit', () => {
    const byCount = writer({ maxBatch: 2 })
    byCount.w.queue(call(1))
    byCount.w.queue(call(2))
    expect(byCount.frames).toHaveLength(1)
    const byBytes = writer({ maxBatchBytes: 1024 })
    byBytes.w.queue(codec.encode([MessageType.Ok, 1, Buffer.alloc(2048)]))
    expect(byBytes.frames).toHaveLength(1)
  })

  it('never joins messages into a frame larger than maxFrameBytes: the one that would pass it starts the next frame', () => {
    const sizes: number[] = []
    const w = new FrameWriter((frame) => sizes.push(frame.length), { maxFrameBytes: 100, maxBatchBytes: 1024 })
    const message = (bytes: number) => Buffer.alloc(bytes)
    w.cork()
    w.queue(message(60))
    w.queue(message(40))
    w.queue(message(1))
    w.queue(message(100))
    w.queue(message(30))
    w.uncork()
    expect(sizes).toEqual([100, 1, 100, 30])
  })

  it('gives a message of maxBatchBytes or more a frame of its own, whatever the peer\'s limit', () => {
    const sizes: number[] = []
    const w = new FrameWriter((frame) => sizes.push(frame.length), { maxBatchBytes: 1024 })
    w.cork()
    w.queue(Buffer.alloc(1000))
    w.queue(Buffer.alloc(1024))
    w.queue(Buffer.alloc(10))
    w.uncork()
    // 1000 + 1024 would reach a peer limit of 2 KiB; the large message went alone instead.
    expect(sizes).toEqual([1000, 1024, 10])
  })

  it('takes a limit learnt later (setMaxFrameBytes)', () => {
    const sizes: number[] = []
    const w = new FrameWriter((frame) => sizes.push(frame.length), { maxBatchBytes: 1024 })
    w.setMaxFrameBytes(50)
    w.cork()
    w.queue(Buffer.alloc(30))
    w.queue(Buffer.alloc(30))
    w.uncork()
    expect(sizes).toEqual([30, 30])
  })

  it('holds frames while corked and sends them all in one frame on uncork', async () => {
    const { w, frames } = writer()
    w.cork()
    w.queue(call(1))
    await Promise.resolve()
    w.queue(call(2))
    await tick()
    expect(frames).toHaveLength(0)
    w.uncork()
    expect(frames).toHaveLength(1)
    expect(frames[0]).toHaveLength(2)
  })

  it('discards what was not sent and says how many calls were among it', async () => {
    const { w, frames } = writer()
    w.queue(call(1), true)
    await Promise.resolve()
    w.queueLazily(done)
    w.queue(call(2), true)
    w.queue(call(3), true)
    expect(w.pendingMessages).toBe(3)
    expect(w.discardUnsent()).toBe(2)
    expect(w.pendingBytes).toBe(0)
    await tick()
    expect(frames).toHaveLength(1)
    expect(frames[0]!.map((m) => (m as unknown[])[1])).toEqual([1])
  })
})

describe('FrameWriter#queueMessage', () => {
  it('encodes messages into one frame, in order with queued ones, whichever encoder they take', async () => {
    const { w, frames } = writer()
    expect(w.queueMessage([MessageType.Call, 1, 0, 'echo', ['a'], 0], codec, true)).toBe(codec.encode([MessageType.Call, 1, 0, 'echo', ['a'], 0]).length)
    w.queue(call(2), true)
    w.queueMessage([MessageType.Call, 3, 0, 'echo', [{ deep: new Map([[1, 2]]) }], 0], codec, true)
    await Promise.resolve()
    expect(frames).toEqual([[
      [MessageType.Call, 1, 0, 'echo', ['a'], 0],
      [MessageType.Call, 2, 0, 'echo', [2], 0],
      [MessageType.Call, 3, 0, 'echo', [{ deep: new Map([[1, 2]]) }], 0],
    ]])
  })

  it('queues nothing for a message larger than maxBytes and says its size', async () => {
    const { w, frames } = writer()
    w.queue(call(1), true)
    const big = [MessageType.Call, 2, 0, 'echo', ['x'.repeat(500)], 0]
    expect(w.queueMessage(big, codec, true, 100)).toBe(codec.encode(big).length)
    expect(w.queueMessage([MessageType.Call, 3, 0, 'echo', [Buffer.alloc(500)], 0], codec, true, 100)).toBeGreaterThan(500)
    expect(w.pendingMessages).toBe(1)
    expect(w.discardUnsent()).toBe(1)
    w.queueMessage([MessageType.Call, 4, 0, 'echo', [4], 0], codec, true, 100)
    await Promise.resolve()
    expect(frames.map((f) => f.map((m) => (m as unknown[])[1]))).toEqual([[4]])
  })

  it('throws for an unencodable message and queues nothing of it', async () => {
    const { w, frames } = writer()
    w.queueMessage([MessageType.Ok, 1, 'before'], codec)
    let deep: unknown = 0
    for (let i = 0; i < 600; i++) deep = [deep]
    expect(() => w.queueMessage([MessageType.Ok, 2, deep], codec)).toThrow(UnencodableError)
    w.queueMessage([MessageType.Ok, 3, 'after'], codec)
    await Promise.resolve()
    expect(frames).toEqual([[[MessageType.Ok, 1, 'before'], [MessageType.Ok, 3, 'after']]])
  })

  it('keeps the batch limits for encoded messages: the one that would pass maxFrameBytes starts the next frame', () => {
    const sizes: number[] = []
    const w = new FrameWriter((frame) => sizes.push(frame.length), { maxFrameBytes: 40, maxBatch: 3 })
    w.cork()
    const m = [MessageType.Ok, 1, 'x'.repeat(14)] // 18 bytes
    for (let i = 0; i < 5; i++) w.queueMessage(m, codec)
    w.uncork()
    expect(sizes).toEqual([36, 36, 18])
  })
})
