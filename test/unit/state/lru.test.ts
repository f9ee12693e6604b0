import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Lru } from '../../../pipeline/state/lru.js';

const keys = (lru: Lru<number>) => {
  const out: string[] = [];
  lru.deleteWhere((_, key) => {
    out.push(key);
    return false;
  });
  return out;
};

describe('Lru', () => {
  it('evicts the least recently used key; get and set make a key young, peek does not', () => {
    const lru = new Lru<number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.peek('b'), 2);
    lru.set('d', 4);
    assert.deepEqual(keys(lru), ['c', 'a', 'd'], 'b was the oldest: peek left it there');
    lru.set('c', 30);
    assert.deepEqual(lru.oldest(), ['a', 1]);
    assert.equal(lru.size, 3);
  });

  it('holds nothing with maxKeys 0 and refuses a bad bound', () => {
    const lru = new Lru<number>(0);
    lru.set('a', 1);
    assert.equal(lru.size, 0);
    assert.equal(lru.get('a'), undefined);
    assert.equal(lru.oldest(), undefined);
    assert.throws(() => new Lru(-1), /maxKeys/);
    assert.throws(() => new Lru(1.5), /maxKeys/);
  });

  it('deletes one key, the keys a predicate picks, or all', () => {
    const lru = new Lru<number>(10);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) lru.set(k, i);
    assert.equal(lru.delete('a'), true);
    assert.equal(lru.delete('a'), false);
    assert.equal(
      lru.deleteWhere((v) => v % 2 === 1),
      2,
    );
    assert.deepEqual(keys(lru), ['c']);
    lru.clear();
    assert.equal(lru.size, 0);
  });

  it('property: behaves as a reference LRU (a list, youngest last) under any gets and sets', () => {
    const op = fc.record({
      set: fc.boolean(),
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      value: fc.nat(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.array(op, { maxLength: 40 }), (maxKeys, ops) => {
        const lru = new Lru<number>(maxKeys);
        let model: [string, number][] = [];
        for (const { set, key, value } of ops) {
          const at = model.findIndex(([k]) => k === key);
          if (set) {
            if (at >= 0) model.splice(at, 1);
            model.push([key, value]);
            model = model.slice(Math.max(0, model.length - maxKeys));
            lru.set(key, value);
          } else {
            const hit = at >= 0 ? model.splice(at, 1)[0] : undefined;
            if (hit) model.push(hit);
            assert.equal(lru.get(key), hit?.[1]);
          }
        }
        assert.deepEqual(
          keys(lru),
          model.map(([k]) => k),
        );
        assert.equal(lru.size, model.length);
      }),
    );
  });
});
