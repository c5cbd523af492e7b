// Unit tests for the two internals everything else rests on: the
// order-preserving key encoding and the sorted index structure.
import { ObjectId } from 'bson'
import { describe, expect, it } from 'vitest'
import { IndexTree } from '../src/index-tree.ts'
import { encodeValue } from '../src/keys.ts'

describe('encodeValue', () => {
  it('orders values like MongoDB (type order, then value)', () => {
    const ordered = [
      null,
      -Infinity,
      -1e300,
      -2.5,
      -1,
      0,
      1e-9,
      1,
      2,
      10,
      2 ** 60,
      Infinity,
      '',
      'A',
      'a',
      'a\u0000',
      'a\u0001',
      'ab',
      'b',
      {},
      { a: 1 },
      { a: 1, b: 1 },
      { a: 2 },
      { b: 0 },
      [],
      [1],
      [1, 2],
      [2],
      new ObjectId('000000000000000000000000'),
      new ObjectId('ffffffffffffffffffffffff'),
      false,
      true,
      new Date(-1),
      new Date(0),
      new Date(1),
    ]
    const encoded = ordered.map(encodeValue)
    for (let i = 1; i < encoded.length; i++) {
      expect(encoded[i - 1]! < encoded[i]!, `${String(JSON.stringify(ordered[i - 1]))} < ${String(JSON.stringify(ordered[i]))}`).toBe(true)
    }
    expect(encodeValue(0)).toBe(encodeValue(-0))
  })

  it('keeps compound keys ordered like tuples', () => {
    const tuples: [unknown, unknown][] = [
      ['a', 1],
      ['a', 2],
      ['a', 'x'],
      ['ab', 0],
      ['b', -5],
    ]
    const keys = tuples.map(([x, y]) => encodeValue(x) + encodeValue(y))
    expect([...keys].sort()).toEqual(keys)
  })
})

describe('IndexTree', () => {
  it('matches a sorted-array model under random inserts, removes and range scans', () => {
    const tree = new IndexTree()
    const model: { k: string; r: number }[] = []
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    const key = (n: number) => encodeValue(n)
    for (let step = 0; step < 20_000; step++) {
      if (rand(3) > 0 || model.length === 0) {
        const k = key(rand(3000))
        const r = step
        tree.insert(k, r)
        model.push({ k, r })
      } else {
        const [e] = model.splice(rand(model.length), 1)
        expect(tree.remove(e!.k, e!.r)).toBe(true)
      }
    }
    model.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.r - b.r))
    expect(tree.size).toBe(model.length)
    expect([...tree.all()]).toEqual(model)
    for (let i = 0; i < 200; i++) {
      const lo = key(rand(3000))
      const hi = key(rand(3000))
      const expected = model.filter((e) => e.k >= lo && e.k < hi)
      expect([...tree.range(lo, hi, false)]).toEqual(expected)
      expect([...tree.range(lo, hi, true)]).toEqual([...expected].reverse())
    }
    const some = model[Math.floor(model.length / 2)]!
    expect(tree.findOther(some.k, -1)).toBeDefined()
    expect(tree.remove(some.k, -999)).toBe(false)
  })
})
