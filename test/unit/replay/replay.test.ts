/**
 * `replay` over files with the in-process state store: equal to `run` on the same input, several files
 * and globs (JSON lines and CSV), bidirectional whole-text scoring, and its configuration rules.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { createWholeEncoder, loadModelPackage } from '../../../model/modelPackage.js';
import { runCommand } from '../../../pipeline/commands/run.js';
import { resolveRunConfig } from '../../../pipeline/config.js';
import { rootLogger } from '../../../pipeline/logger.js';
import {
  REPLAY_BATCH_DEFAULTS,
  type ReplayRequest,
  resolveReplayConfig,
  startReplay,
} from '../../../pipeline/replay/replay.js';
import { makeTinyModel } from '../../fixtures/tinyModel.js';
import { byPosition, makeCorpus, readOutputs, sameOutput, writeCsv, writeJsonLines } from './helpers.js';

const log = rootLogger().child({ ns: 'test-replay' });
let work: string;
let model: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rnnstream-replay-'));
  model = await makeTinyModel({ cell: 'gru', layers: 2 });
});
after(() => rm(work, { recursive: true, force: true }));

async function replay(flags: Record<string, unknown>, request: ReplayRequest = {}) {
  const config = resolveReplayConfig({ backend: 'cpu', model, logLevel: 'silent', ...flags }, {});
  const running = await startReplay({ config, request, log, progressTty: false });
  return running.done;
}

describe('replay of files (memory state)', () => {
  it('gives the same outputs as run on the same JSON lines file, with larger batches', async () => {
    const input = join(work, 'same.jsonl');
    writeJsonLines(input, makeCorpus(3000, 150, 11));
    const runOut = join(work, 'same-run.jsonl');
    const replayOut = join(work, 'same-replay.jsonl');
    const code = await runCommand({
      in: `file:${input}`,
      out: `file:${runOut}`,
      model,
      backend: 'cpu',
      logLevel: 'silent',
      maxDelayMs: '0',
    });
    assert.equal(code, 0);
    const result = await replay({ in: `file:${input}`, out: `file:${replayOut}` });
    assert.equal(result.completed, true);
    assert.equal(result.stats.messagesIn, 3000);
    const ran = byPosition(readOutputs(runOut));
    const replayed = byPosition(readOutputs(replayOut));
    assert.equal(ran.size, 3000);
    assert.equal(replayed.size, ran.size);
    for (const [position, out] of ran) {
      const other = replayed.get(position);
      assert.ok(other, `replay has no output for ${position}`);
      assert.equal(sameOutput(out, other), undefined, position);
    }
  });

  it('reads several files and globs (JSON lines and CSV) in order, like run on their concatenation', async () => {
    const corpus = makeCorpus(1200, 40, 5);
    const dir = join(work, 'many');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    writeJsonLines(join(dir, 'part-1.jsonl'), corpus.slice(0, 400));
    writeCsv(join(dir, 'part-2.csv'), corpus.slice(400, 800));
    writeJsonLines(join(dir, 'part-3.jsonl'), corpus.slice(800));
    writeJsonLines(join(work, 'all.jsonl'), corpus);
    const runOut = join(work, 'many-run.jsonl');
    const replayOut = join(work, 'many-replay.jsonl');
    assert.equal(
      await runCommand({
        in: `file:${join(work, 'all.jsonl')}`,
        out: `file:${runOut}`,
        model,
        backend: 'cpu',
        logLevel: 'silent',
      }),
      0,
    );
    const result = await replay(
      { out: `file:${replayOut}` },
      { files: [join(dir, 'part-[12].*'), join(dir, '*-3.jsonl')] },
    );
    assert.equal(result.stats.messagesIn, corpus.length);
    assert.equal(result.stats.deadLetters, 0);
    // Per key, the same outputs in the same order (positions differ: three files vs one).
    const perKey = (outs: ReturnType<typeof readOutputs>) => {
      const map = new Map<string, ReturnType<typeof readOutputs>>();
      for (const o of [...outs].sort((a, b) => (BigInt(a.source.offset) < BigInt(b.source.offset) ? -1 : 1)))
        map.set(o.key, [...(map.get(o.key) ?? []), o]);
      return map;
    };
    const ran = perKey(readOutputs(runOut));
    const replayed = perKey(readOutputs(replayOut));
    assert.deepEqual([...replayed.keys()].sort(), [...ran.keys()].sort());
    for (const [key, outs] of ran) {
      const others = replayed.get(key) ?? [];
      assert.equal(others.length, outs.length, key);
      outs.forEach((o, i) => {
        assert.equal(sameOutput(o, others[i]), undefined, `${key} #${i}`);
      });
    }
  });

  it('scores whole texts with a bidirectional model: each message alone, as score does', async () => {
    const bidi = await makeTinyModel({ cell: 'lstm', layers: 2, bidirectional: true });
    const corpus = makeCorpus(300, 20, 3);
    const input = join(work, 'bidi.jsonl');
    writeJsonLines(input, corpus);
    const out = join(work, 'bidi-out.jsonl');
    const config = resolveReplayConfig(
      { in: `file:${input}`, out: `file:${out}`, model: bidi, backend: 'cpu', emit: 'sentiment,embedding' },
      {},
    );
    const result = await (await startReplay({ config, request: {}, log, progressTty: false })).done;
    assert.equal(result.completed, true);
    const pkg = await loadModelPackage(bidi);
    const encoder = createWholeEncoder(pkg);
    try {
      const hidden = await encoder.encodeWhole(corpus.map((m) => m.text));
      const expected = pkg.head.predict(hidden);
      const outputs = readOutputs(out).sort((a, b) => Number(a.source.offset) - Number(b.source.offset));
      assert.equal(outputs.length, corpus.length);
      outputs.forEach((o, i) => {
        assert.equal(o.key, corpus[i].key);
        assert.equal(o.totalTokens, o.tokens, 'no state carried: the sequence is the message');
        assert.ok(Math.abs((o.sentiment?.score ?? -1) - expected[i].score) < 1e-5, `message ${i}`);
        assert.equal((o.embedding as number[]).length, 2 * pkg.config.hiddenSize);
      });
    } finally {
      encoder.dispose();
    }
  });

  it('reports its health: alive and ready while it works and once done, neither once it failed', async () => {
    const input = join(work, 'health.jsonl');
    writeJsonLines(input, makeCorpus(50, 5, 3));
    const start = (out: string) =>
      startReplay({
        config: resolveReplayConfig(
          { backend: 'cpu', model, logLevel: 'silent', in: `file:${input}`, out },
          {},
        ),
        request: {},
        log,
        progressTty: false,
      });
    const ok = await start(`file:${join(work, 'health-out.jsonl')}`);
    assert.equal(ok.alive(), true);
    assert.equal(await ok.ready(), true);
    assert.equal((await ok.done).completed, true);
    assert.equal(ok.alive(), true);
    // A sink that cannot write (ENOSPC is not retriable): the replay fails, and says so.
    if (!existsSync('/dev/full')) return;
    const failing = await start('file:/dev/full');
    await assert.rejects(failing.done, /ENOSPC|no space/i);
    assert.equal(failing.alive(), false);
    assert.equal(await failing.ready(), false);
  });

  it('refuses what it cannot do, naming the option', async () => {
    const input = join(work, 'same.jsonl');
    await assert.rejects(replay({ in: `file:${input}` }, { promote: true }), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /--promote needs a redis/);
      return true;
    });
    await assert.rejects(
      replay({ in: `file:${input}` }, { fromTime: '2025-01-01T00:00:00Z' }),
      /apply to a Kafka --in/,
    );
    await assert.rejects(replay({}), /replay needs an input/);
    await assert.rejects(replay({}, { files: [join(work, 'nothing-*.jsonl')] }), /matches no file/);
    await assert.rejects(replay({ in: `file:${input}` }, { namespace: 'bad name' }), /--namespace/);
  });
});

describe('resolveReplayConfig', () => {
  it('uses the replay batch defaults unless flags, env or the config file set them', () => {
    const config = resolveReplayConfig({}, {});
    assert.equal(config.maxBatchRows, REPLAY_BATCH_DEFAULTS.maxBatchRows);
    assert.equal(config.maxBatchTokens, REPLAY_BATCH_DEFAULTS.maxBatchTokens);
    assert.equal(config.maxDelayMs, REPLAY_BATCH_DEFAULTS.maxDelayMs);
    assert.equal(resolveRunConfig({}, {}).maxBatchRows, 1024, 'run keeps its own defaults');
    assert.equal(resolveReplayConfig({ maxBatchRows: '1024' }, {}).maxBatchRows, 1024);
    assert.equal(resolveReplayConfig({}, { RNNSTREAM_MAX_DELAY_MS: '5' }).maxDelayMs, 5);
  });
});
