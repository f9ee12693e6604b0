import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { selectBackend } from '../../../model/backend.js';
import { createEngine } from '../../../model/engine.js';
import { loadModelPackage } from '../../../model/modelPackage.js';
import { createParallelEngine } from '../../../model/parallelEngine.js';
import type { StepEngine, StepRow } from '../../../model/types.js';
import { makeTinyModel, TINY_VOCAB } from '../../fixtures/tinyModel.js';

describe('parallel engine (worker threads)', () => {
  let single: StepEngine;
  let parallel: StepEngine;
  before(async () => {
    await selectBackend('wasm');
    const pkg = await loadModelPackage(await makeTinyModel({ cell: 'lstm', layers: 2 }));
    single = createEngine(pkg.weights, pkg.config);
    parallel = await createParallelEngine(pkg.weights, pkg.config, { workers: 2, minRowsToSplit: 2 });
  });
  after(() => {
    single.dispose();
    parallel.dispose();
  });

  it('returns what one engine returns, in the caller order, for rows split across workers', async () => {
    let seed = 1;
    const next = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const rows: StepRow[] = Array.from({ length: 37 }, (_, i) => ({
      tokens: Int32Array.from({ length: 1 + Math.floor(next() * 12) }, () =>
        Math.floor(next() * TINY_VOCAB.length),
      ),
      marks: i % 3 === 0 ? [0, 1] : undefined,
    }));
    const first = await single.step(rows);
    const split = await parallel.step(rows);
    assert.equal(split.length, rows.length);
    for (let i = 0; i < rows.length; i++) {
      assert.deepEqual(Array.from(split[i].state.h), Array.from(first[i].state.h), `row ${i} h`);
      assert.deepEqual(Array.from(split[i].state.c!), Array.from(first[i].state.c!), `row ${i} c`);
      assert.deepEqual(
        split[i].marked.map((m) => Array.from(m)),
        first[i].marked.map((m) => Array.from(m)),
      );
    }
    // States carried into a second call give the same results too.
    const carried = rows.map((row, i) => ({ tokens: row.tokens, state: first[i].state }));
    const again = await parallel.step(carried);
    const reference = await single.step(carried);
    for (let i = 0; i < rows.length; i++)
      assert.deepEqual(Array.from(again[i].last), Array.from(reference[i].last));
  });

  it('passes a bad row error back to the caller', async () => {
    await assert.rejects(
      parallel.step([{ tokens: Int32Array.of(9999) }, { tokens: Int32Array.of(1) }]),
      /vocabulary/,
    );
  });
});
