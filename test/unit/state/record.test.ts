import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { StateWrite, StoredState } from '../../../core/contracts.js';
import { crc32 } from '../../../pipeline/state/crc32.js';
import { fromFloat16Bits, toFloat16Bits } from '../../../pipeline/state/float16.js';
import {
  decodeRecord,
  encodeRecord,
  fenceAllows,
  HEADER_BYTES,
  readFence,
  type StateSchema,
  summarizeRecord,
  validateSchema,
} from '../../../pipeline/state/record.js';

const GRU: StateSchema = {
  fingerprint: '0123456789abcdef',
  cell: 'gru',
  layers: 2,
  hidden: 8,
  dtype: 'float32',
};
const LSTM: StateSchema = { ...GRU, cell: 'lstm', layers: 1, hidden: 5 };

function randomState(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = Math.tanh(((s / 2 ** 31) * 2 - 1) * 3) * scale;
  }
  return out;
}

function stored(schema: StateSchema, seed = 1): StoredState {
  const n = schema.layers * schema.hidden;
  return {
    state:
      schema.cell === 'lstm'
        ? { h: randomState(n, seed), c: randomState(n, seed + 7, 3) }
        : { h: randomState(n, seed) },
    fence: { partition: 3, offset: '12345678901234' },
    totalTokens: 4242,
    updatedAt: 1_700_000_000_123.5,
  };
}

function write(schema: StateSchema, seed = 1): StateWrite {
  const s = stored(schema, seed);
  return { key: 'k', fence: s.fence, stored: s };
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
  });

  it('agrees with the byte-wise definition on any input and range', () => {
    const reference = (bytes: Uint8Array) => {
      let c = 0xffffffff;
      for (const x of bytes) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(20), (bytes, skip) => {
        const start = Math.min(skip, bytes.length);
        return crc32(bytes, start) === reference(bytes.subarray(start));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('float16', () => {
  it('round-trips every finite half exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = fromFloat16Bits(bits);
      if (Number.isNaN(value)) continue;
      assert.equal(toFloat16Bits(value), bits, `bits 0x${bits.toString(16)}`);
    }
  });

  it('rounds to the nearest half (no neighbour is closer)', () => {
    fc.assert(
      fc.property(fc.float({ min: -70000, max: 70000, noNaN: true }), (x) => {
        const bits = toFloat16Bits(x);
        const got = fromFloat16Bits(bits);
        if (!Number.isFinite(got)) return Math.abs(x) >= 65520;
        for (const n of [bits - 1, bits + 1]) {
          const other = fromFloat16Bits(n & 0xffff);
          if (Number.isFinite(other) && Math.sign(other) === Math.sign(got)) {
            if (Math.abs(other - x) < Math.abs(got - x)) return false;
          }
        }
        return true;
      }),
      { numRuns: 20000 },
    );
  });

  it('handles special values', () => {
    assert.equal(toFloat16Bits(0), 0);
    assert.equal(toFloat16Bits(-0), 0x8000);
    assert.equal(toFloat16Bits(1), 0x3c00);
    assert.equal(toFloat16Bits(65504), 0x7bff);
    assert.equal(toFloat16Bits(65520), 0x7c00); // rounds to Infinity, as IEEE does
    assert.equal(toFloat16Bits(Number.POSITIVE_INFINITY), 0x7c00);
    assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN))));
    assert.equal(fromFloat16Bits(1), 2 ** -24); // smallest subnormal
  });

  it('has at most 2^-12 absolute error on tanh-range values', () => {
    let worst = 0;
    for (let i = 0; i <= 200_000; i++) {
      const x = Math.fround(-1 + i / 100_000);
      worst = Math.max(worst, Math.abs(fromFloat16Bits(toFloat16Bits(x)) - x));
    }
    assert.ok(worst <= 2 ** -12, `worst ${worst}`);
    assert.ok(worst > 2 ** -13, 'the bound is tight, so the check can fail');
  });
});

describe('encodeRecord/decodeRecord', () => {
  for (const schema of [GRU, LSTM, { ...GRU, cell: 'rnn' as const }]) {
    it(`round-trips a ${schema.cell} state in float32 exactly`, () => {
      const w = write(schema);
      const bytes = encodeRecord(schema, w, 9);
      const n = schema.layers * schema.hidden * (schema.cell === 'lstm' ? 2 : 1);
      assert.equal(bytes.length, HEADER_BYTES + n * 4 + 4);
      const loaded = decodeRecord(schema, bytes);
      assert.equal(loaded.kind, 'ok');
      if (loaded.kind !== 'ok') return;
      assert.deepEqual(loaded.stored.state.h, w.stored!.state.h);
      assert.deepEqual(loaded.stored.state.c, w.stored!.state.c);
      assert.deepEqual(loaded.stored.fence, w.fence);
      assert.equal(loaded.stored.totalTokens, 4242);
      assert.equal(loaded.stored.updatedAt, 1_700_000_000_123.5);
      const summary = summarizeRecord(bytes);
      assert.ok(
        summary.ok && summary.summary.generation === 9 && summary.summary.fingerprint === GRU.fingerprint,
      );
    });
  }

  it('round-trips float16 within 2^-12 on h and half the bytes', () => {
    const schema: StateSchema = { ...LSTM, dtype: 'float16' };
    const w = write(schema);
    const bytes = encodeRecord(schema, w);
    assert.equal(bytes.length, HEADER_BYTES + 2 * 5 * 2 + 4);
    const loaded = decodeRecord(schema, bytes);
    assert.equal(loaded.kind, 'ok');
    if (loaded.kind !== 'ok') return;
    for (const [i, x] of w.stored!.state.h.entries())
      assert.ok(Math.abs(loaded.stored.state.h[i] - x) <= 2 ** -12);
    // c is unbounded (here |c| < 3): relative error ≤ 2^-11.
    for (const [i, x] of w.stored!.state.c!.entries()) {
      assert.ok(Math.abs(loaded.stored.state.c![i] - x) <= Math.abs(x) * 2 ** -11);
    }
  });

  it('reads a record written in the other dtype', () => {
    const bytes = encodeRecord({ ...GRU, dtype: 'float16' }, write(GRU));
    assert.equal(decodeRecord(GRU, bytes).kind, 'ok');
  });

  it('encodes an ended sequence as a fence-only tombstone', () => {
    const bytes = encodeRecord(GRU, { key: 'k', fence: { partition: 1, offset: '99' }, stored: null });
    assert.equal(bytes.length, HEADER_BYTES + 4);
    assert.deepEqual(decodeRecord(GRU, bytes), { kind: 'ended', fence: { partition: 1, offset: '99' } });
  });

  it('keeps int64 offsets exact', () => {
    for (const offset of ['0', '9007199254740993', '9223372036854775807', '-1']) {
      const bytes = encodeRecord(GRU, { key: 'k', fence: { partition: 2, offset }, stored: null });
      assert.deepEqual(readFence(bytes), { partition: 2, offset });
    }
  });

  it('refuses states of the wrong size and bad fences (programmer errors)', () => {
    const w = write(GRU);
    assert.throws(() => encodeRecord({ ...GRU, hidden: 9 }, w), RangeError);
    assert.throws(
      () =>
        encodeRecord(LSTM, {
          ...write(LSTM),
          stored: { ...stored(LSTM), state: { h: new Float32Array(5) } },
        }),
      RangeError,
    );
    assert.throws(() => encodeRecord(GRU, { ...w, fence: { partition: 0, offset: '1.5' } }), RangeError);
    assert.throws(() => encodeRecord(GRU, { ...w, fence: { partition: -1, offset: '1' } }), RangeError);
  });

  it('validates schemas', () => {
    assert.throws(() => validateSchema({ ...GRU, fingerprint: 'XYZ' }), /fingerprint/);
    assert.throws(() => validateSchema({ ...GRU, layers: 0 }), /layers/);
    assert.throws(() => validateSchema({ ...GRU, dtype: 'float64' as 'float32' }), /dtype/);
  });
});

describe('decodeRecord refuses bad bytes', () => {
  const good = encodeRecord(GRU, write(GRU));
  const reason = (bytes: Uint8Array, schema = GRU) => {
    const loaded = decodeRecord(schema, bytes);
    return loaded.kind === 'bad' ? loaded.reason : loaded.kind;
  };

  it('garbage and short input: bad-magic', () => {
    assert.equal(reason(Buffer.alloc(0)), 'bad-magic');
    assert.equal(reason(Buffer.from('RN')), 'bad-magic');
    assert.equal(reason(Buffer.from('{"h":[0.1]}')), 'bad-magic');
  });

  it('unknown version', () => {
    const copy = Buffer.from(good);
    copy[4] = 2;
    assert.equal(reason(copy), 'unknown-version');
  });

  it('truncated and over-long records', () => {
    assert.equal(reason(good.subarray(0, 4)), 'truncated');
    assert.equal(reason(good.subarray(0, 30)), 'truncated');
    assert.equal(reason(good.subarray(0, good.length - 1)), 'truncated');
    assert.equal(reason(Buffer.concat([good, Buffer.from([0])])), 'bad-length');
  });

  it('unknown header codes: bad-header', () => {
    const copy = Buffer.from(good);
    copy[6] = 7;
    assert.equal(reason(copy), 'bad-header');
  });

  it('one flipped bit anywhere: bad-checksum (or a header reason)', () => {
    for (let i = 8; i < good.length; i++) {
      const copy = Buffer.from(good);
      copy[i] ^= 0x10;
      assert.notEqual(reason(copy), 'ok', `byte ${i}`);
    }
    const copy = Buffer.from(good);
    copy[HEADER_BYTES + 3] ^= 1;
    assert.equal(reason(copy), 'bad-checksum');
  });

  it('another fingerprint: other-model', () => {
    assert.equal(reason(good, { ...GRU, fingerprint: 'fedcba9876543210' }), 'other-model');
  });

  it('another shape or cell: shape-mismatch', () => {
    assert.equal(reason(good, { ...GRU, layers: 1, hidden: 16 }), 'shape-mismatch');
    assert.equal(reason(good, { ...GRU, cell: 'rnn' }), 'shape-mismatch');
  });

  it('NaN or Infinity in the values: non-finite', () => {
    const w = write(GRU);
    w.stored!.state.h[3] = Number.NaN;
    assert.equal(reason(encodeRecord(GRU, w)), 'non-finite');
    const big = write({ ...GRU, dtype: 'float16' });
    big.stored!.state.h[0] = 1e6; // beyond float16's range
    assert.equal(reason(encodeRecord({ ...GRU, dtype: 'float16' }, big)), 'non-finite');
  });

  it('never throws on random bytes, and never calls them ok', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withMagic) => {
        const input = withMagic ? Buffer.concat([Buffer.from('RNS1\x01'), bytes]) : bytes;
        const loaded = decodeRecord(GRU, input);
        return loaded.kind === 'bad';
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on mutated good records', () => {
    fc.assert(
      fc.property(
        fc.nat(good.length - 1),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(good.length),
        (at, xor, cut) => {
          const copy = Buffer.from(good);
          copy[at] ^= xor;
          const loaded = decodeRecord(GRU, copy.subarray(0, cut));
          return loaded.kind === 'bad';
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('fenceAllows', () => {
  it('same partition: only a newer offset wins', () => {
    const stored = { partition: 0, offset: '10' };
    assert.equal(fenceAllows(stored, { partition: 0, offset: '11' }), true);
    assert.equal(fenceAllows(stored, { partition: 0, offset: '10' }), false);
    assert.equal(fenceAllows(stored, { partition: 0, offset: '9' }), false);
    assert.equal(
      fenceAllows({ partition: 0, offset: '9007199254740993' }, { partition: 0, offset: '9007199254740992' }),
      false,
    );
  });

  it('another partition or no record: accepted', () => {
    assert.equal(fenceAllows({ partition: 0, offset: '10' }, { partition: 1, offset: '0' }), true);
    assert.equal(fenceAllows(undefined, { partition: 1, offset: '0' }), true);
  });
});
