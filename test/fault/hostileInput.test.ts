/**
 * Hostile input (issue 5, fault 6): over 100 000 generated inputs (fast-check, seeded) — random bytes,
 * invalid UTF-8, non-object and deeply nested JSON, objects without text, blank texts, huge keys, missing
 * keys, control characters, texts past the token limit, and 10 MB values — through the embedded pipeline
 * (decode → tokenize → batch → state → step → sink). Nothing crashes; every input ends exactly once,
 * as an output or a dead letter; every input built bad is a dead letter with its reason; the good ones
 * score exactly as in a run without the hostile ones; memory stays bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { OutputMessage, SourceRecord } from '../../core/contracts.js';
import { rootLogger } from '../../pipeline/logger.js';
import { type LoadedModel, loadPipelineModel } from '../../pipeline/model.js';
import { runPipeline } from '../../pipeline/run.js';
import { MemoryStateStore } from '../../pipeline/state/memoryStore.js';
import { ArrayDeadLetterSink, ArraySink, ArraySource } from '../fixtures/memoryConnectors.js';
import { makeTinyModel, TINY_VOCAB } from '../fixtures/tinyModel.js';

const GENERATED = 100_000;
const TEN_MB = 10 * 1024 * 1024;

/** What an input must become. */
type Expect = { kind: 'good' } | { kind: 'bad'; reason: string } | { kind: 'any' };
interface Case {
  key: Buffer | null;
  value: Buffer | null;
  expect: Expect;
}

const bytes = (text: string) => Buffer.from(text);
const words = fc
  .array(fc.constantFrom(...TINY_VOCAB.slice(2)), { minLength: 1, maxLength: 8 })
  .map((w) => w.join(' '));
/** Keys of hostile inputs never collide with good ones (`good-N`), so good states stay theirs alone. */
const hostileKey = fc.nat(999).map((n) => bytes(`h-${n}`));
const bad = (reason: string): Expect => ({ kind: 'bad', reason });
const GOOD: Expect = { kind: 'good' };
const ANY: Expect = { kind: 'any' };

const cases: fc.Arbitrary<Case> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.nat(299), words).map(([k, text]) => ({
      key: bytes(`good-${k}`),
      value: bytes(JSON.stringify({ text })),
      expect: GOOD,
    })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(hostileKey, fc.uint8Array({ maxLength: 300 }))
      .map(([key, raw]) => ({ key, value: Buffer.from(raw), expect: ANY })),
  },
  {
    // A lone continuation byte is never valid UTF-8.
    weight: 1,
    arbitrary: fc.tuple(hostileKey, words).map(([key, text]) => ({
      key,
      value: Buffer.concat([bytes(`{"text":"${text}`), Buffer.from([0x80, 0xff]), bytes('"}')]),
      expect: bad('invalid-utf8'),
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        hostileKey,
        fc.oneof(
          fc.array(fc.jsonValue({ maxDepth: 3 })),
          fc.double(),
          fc.string(),
          fc.boolean(),
          fc.constant(null),
        ),
      )
      .map(([key, json]) => ({ key, value: bytes(JSON.stringify(json)), expect: bad('invalid-json') })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(hostileKey, fc.integer({ min: 1, max: 30_000 })).map(([key, depth]) => ({
      key,
      value: bytes(`${'['.repeat(depth)}${']'.repeat(depth)}`),
      expect: bad('invalid-json'),
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(hostileKey, fc.integer({ min: 1, max: 7_000 })).map(([key, depth]) => ({
      key,
      value: bytes(`${'{"text":'.repeat(depth)}"deep"${'}'.repeat(depth)}`),
      expect: depth === 1 ? ANY : bad('text-not-string'),
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        hostileKey,
        fc.dictionary(
          fc.string().filter((k) => k !== 'text'),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      )
      .map(([key, object]) => ({
        key,
        value: bytes(JSON.stringify(object)),
        expect: bad('text-not-string'),
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(hostileKey, fc.constantFrom('', ' ', '\t\n', '\u00a0\u2003', '   \r\n  '))
      .map(([key, text]) => ({ key, value: bytes(JSON.stringify({ text })), expect: bad('empty-text') })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 1_025, max: 8_000 }), words).map(([size, text]) => ({
      key: Buffer.alloc(size, 'k'),
      value: bytes(JSON.stringify({ text })),
      expect: bad('key-too-large'),
    })),
  },
  {
    weight: 1,
    arbitrary: words.map((text) => ({
      key: null,
      value: bytes(JSON.stringify({ text })),
      expect: bad('missing-key'),
    })),
  },
  {
    // Control characters, lone surrogates (escaped), any code point: valid JSON text, tokenized somehow.
    weight: 2,
    arbitrary: fc
      .tuple(
        hostileKey,
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({
          unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)),
          maxLength: 50,
        }),
      )
      .map(([key, text, control]) => ({
        key,
        value: bytes(JSON.stringify({ text: text + control })),
        expect: ANY,
      })),
  },
);

/** Inputs made by hand: values far over the size limit, and texts far over the token limit. */
function extremes(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 5; i++) {
    out.push({
      key: bytes(`h-big-${i}`),
      value: Buffer.alloc(TEN_MB, i % 2 ? 0xff : 0x61),
      expect: bad('value-too-large'),
    });
  }
  out.push({
    key: bytes('h-big-json'),
    value: bytes(JSON.stringify({ text: 'x'.repeat(TEN_MB) })),
    expect: bad('value-too-large'),
  });
  for (let i = 0; i < 5; i++) {
    out.push({
      key: bytes(`h-long-${i}`),
      value: bytes(JSON.stringify({ text: 'good movie '.repeat(3_000 + i) })),
      expect: bad('too-many-tokens'),
    });
  }
  return out;
}

/** Source records on 4 partitions, offsets counted per partition. */
function toRecords(list: readonly Case[]): SourceRecord[] {
  const next = [0, 0, 0, 0];
  return list.map((c, i) => {
    const partition = i % 4;
    return {
      key: c.key,
      value: c.value,
      source: { topic: 'hostile', partition, offset: String(next[partition]++) },
    };
  });
}

const id = (r: { source: { partition: number; offset: string } }) =>
  `${r.source.partition}:${r.source.offset}`;

describe('fault: hostile input through the embedded pipeline', () => {
  let loaded: LoadedModel;
  before(async () => {
    loaded = await loadPipelineModel({
      dir: await makeTinyModel({ seed: 13 }),
      backend: 'wasm',
      log: rootLogger(),
    });
  });
  after(() => loaded?.model.engine.dispose());

  async function run(records: SourceRecord[]) {
    const sink = new ArraySink();
    const deadLetters = new ArrayDeadLetterSink();
    const running = runPipeline(
      {
        source: new ArraySource(records, 2_000),
        sink,
        deadLetters,
        store: new MemoryStateStore(loaded.schema),
        model: loaded.model,
        // Each dead letter is a warning: 50 000 of them would drown the test output.
        log: rootLogger().child({ ns: 'hostile' }, { level: 'error' }),
      },
      {},
    );
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    try {
      const stats = await running.done;
      return { stats, outputs: sink.records.map((r) => r.value), dead: deadLetters.dead, peak };
    } finally {
      clearInterval(sampler);
    }
  }

  it('dead-letters every bad input with its reason, leaves good ones untouched, and stays bounded', async (t) => {
    const generated = fc.sample(cases, { numRuns: GENERATED, seed: 20_250_505 });
    const all = [...generated.slice(0, GENERATED / 2), ...extremes(), ...generated.slice(GENERATED / 2)];
    const records = toRecords(all);
    const expectById = new Map(records.map((r, i) => [id(r), all[i].expect]));

    const baseline = process.memoryUsage().rss;
    const started = performance.now();
    const hostile = await run(records);
    const seconds = (performance.now() - started) / 1000;

    // Every input ends exactly once: an output or a dead letter.
    const seen = new Map<string, 'output' | 'dead'>();
    for (const out of hostile.outputs) {
      assert.equal(seen.get(id(out)), undefined, `input ${id(out)} ended twice`);
      seen.set(id(out), 'output');
    }
    for (const dead of hostile.dead) {
      assert.equal(seen.get(id(dead.record)), undefined, `input ${id(dead.record)} ended twice`);
      seen.set(id(dead.record), 'dead');
    }
    assert.equal(seen.size, records.length, 'every input ended as an output or a dead letter');
    assert.equal(hostile.stats.messagesIn, records.length);

    const reasons: Record<string, number> = {};
    for (const dead of hostile.dead) {
      reasons[dead.reason] = (reasons[dead.reason] ?? 0) + 1;
      assert.ok(['decode', 'tokenize'].includes(dead.stage), `stage ${dead.stage}`);
      const expect = expectById.get(id(dead.record));
      assert.notEqual(expect?.kind, 'good', `a good input was refused: ${dead.reason} ${dead.detail}`);
      if (expect?.kind === 'bad') assert.equal(dead.reason, expect.reason, `reason of ${id(dead.record)}`);
    }
    const counts = { good: 0, bad: 0, any: 0, anyAccepted: 0 };
    for (const [position, expect] of expectById) {
      counts[expect.kind]++;
      if (expect.kind === 'bad')
        assert.equal(seen.get(position), 'dead', `bad input ${position} was not refused`);
      if (expect.kind === 'good') assert.equal(seen.get(position), 'output');
      if (expect.kind === 'any' && seen.get(position) === 'output') counts.anyAccepted++;
    }
    for (const out of hostile.outputs) {
      assert.ok(Number.isFinite(out.sentiment?.score), `non-finite score for ${id(out)}`);
    }

    // The good inputs alone, at the same positions: their outputs must be identical.
    const goodOnly = records.filter((r) => expectById.get(id(r))?.kind === 'good');
    const clean = await run(goodOnly);
    const cleanById = new Map<string, OutputMessage>(clean.outputs.map((o) => [id(o), o]));
    let compared = 0;
    for (const out of hostile.outputs) {
      if (expectById.get(id(out))?.kind !== 'good') continue;
      const ref = cleanById.get(id(out));
      assert.ok(ref, `no clean output for ${id(out)}`);
      assert.equal(out.totalTokens, ref.totalTokens);
      assert.ok(
        Math.abs((out.sentiment?.score ?? 0) - (ref.sentiment?.score ?? 1)) <= 1e-6,
        `score of ${id(out)}`,
      );
      compared++;
    }
    assert.equal(compared, counts.good);

    const growthMiB = Math.round((hostile.peak - baseline) / 2 ** 20);
    t.diagnostic(
      `FAULT hostile input: ${JSON.stringify({ inputs: records.length, ...counts, outputs: hostile.outputs.length, deadLetters: hostile.dead.length, reasons, seconds: Math.round(seconds), rssGrowthMiB: growthMiB })}`,
    );
    assert.ok(records.length >= 100_000);
    assert.ok(growthMiB < 400, `RSS grew ${growthMiB} MiB while processing`);
  });
});
