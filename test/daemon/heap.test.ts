import { describe, expect, test } from 'vitest'
import { holdYoungGeneration } from '../../src/daemon/heap.ts'

const MiB = 2 ** 20

/** A heap whose new space is `size` bytes: the flags holdYoungGeneration set, and its GC hook. */
function fakeHeap(size: number) {
  const heap = { size, flags: [] as string[], check: null as null | (() => void), hooked: false }
  const stop = holdYoungGeneration(2, {
    stats: () => [
      { space_name: 'old_space', space_size: 50 * MiB },
      { space_name: 'new_space', space_size: heap.size },
    ],
    setFlag: (flag) => heap.flags.push(flag),
    onGC: (check) => {
      heap.check = check
      heap.hooked = true
      return () => {
        heap.hooked = false
      }
    },
  })
  return { heap, stop, gc: () => heap.check?.() }
}

describe('the young generation, held at its size', () => {
  test('grows while smaller, stops growing for good once there, and stops checking', () => {
    const { heap, gc } = fakeHeap(2 * MiB)
    expect(heap.flags).toEqual(['--semi-space-growth-factor=2'])
    gc()
    expect(heap.flags).toHaveLength(1)
    heap.size = 4 * MiB
    gc()
    expect(heap.flags).toEqual(['--semi-space-growth-factor=2', '--semi-space-growth-factor=1'])
    expect(heap.hooked).toBe(false)
    // V8 may shrink it when the daemon idles; it is not grown again (a reload's synchronous load would overshoot).
    heap.size = 2 * MiB
    gc()
    expect(heap.flags).toHaveLength(2)
  })

  test('already at the size: nothing set, nothing hooked', () => {
    const { heap } = fakeHeap(4 * MiB)
    expect(heap.flags).toEqual([])
    expect(heap.hooked).toBe(false)
  })

  test('stopped before it got there (shutdown): the checks end', () => {
    const { heap, stop, gc } = fakeHeap(2 * MiB)
    stop()
    expect(heap.hooked).toBe(false)
    heap.size = 4 * MiB
    gc()
    expect(heap.flags).toEqual(['--semi-space-growth-factor=2'])
  })
})
