/**
 * `replay` against real Redis and Kafka: a file replay rebuilds the same states as `run`; a replay
 * killed midway resumes from its checkpoint to the same states; a Kafka range read to the end offsets
 * taken at start equals `run`'s outputs and states, also after a stop and resume; `--promote` switches
 * the active namespace atomically.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../../pipeline/commands/run.js';
import { openSource } from '../../../pipeline/connect.js';
import { FileSink } from '../../../pipeline/file/fileSinks.js';
import { rootLogger } from '../../../pipeline/logger.js';
import { loadPipelineModel } from '../../../pipeline/model.js';
import {
  activeNamespace,
  checkpointKey,
  pointerKey,
  replayPrefix,
  resolveActiveNamespace,
  withStatePrefix,
} from '../../../pipeline/replay/namespace.js';
import { type ReplayRequest, resolveReplayConfig, startReplay } from '../../../pipeline/replay/replay.js';
import { runPipeline } from '../../../pipeline/run.js';
import { createStateStore } from '../../../pipeline/state/stateUri.js';
import { ArrayDeadLetterSink } from '../../fixtures/memoryConnectors.js';
import { deleteKeys, produce, redisClient, uniqueName, useFixture } from '../../harness/index.js';
import {
  byPosition,
  type CorpusMessage,
  makeCorpus,
  readOutputs,
  sameOutput,
  writeJsonLines,
} from '../../unit/replay/helpers.js';

const log = rootLogger().child({ ns: 'test-replay' });
let work: string;
const prefixes: string[] = [];

// Registered before the fixture's hooks, so that its Redis client is still open here.
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rnnstream-replay-it-'));
});

after(async () => {
  // Every namespace of a test shares its base, so one pattern per base removes states, checkpoints and pointers.
  for (const prefix of prefixes) await deleteKeys(fx.redis, prefix.replace(/:$/, ''));
  await rm(work, { recursive: true, force: true });
});

const fx = useFixture({ model: { cell: 'lstm', layers: 2 } });

function basePrefix(name: string): string {
  const prefix = `${uniqueName(name)}:`;
  prefixes.push(prefix);
  return prefix;
}

function stateUri(prefix: string): string {
  return withStatePrefix(`${fx.services.redisUrl}/0`, prefix);
}

async function replay(flags: Record<string, unknown>, request: ReplayRequest) {
  const config = resolveReplayConfig({ backend: 'cpu', model: fx.model, logLevel: 'silent', ...flags }, {});
  return startReplay({ config, request, log, progressTty: false });
}

/** Asserts the two namespaces hold the same state for every key (within float tolerance). */
async function assertSameStates(uriA: string, uriB: string, keys: readonly string[]): Promise<void> {
  const a = createStateStore(uriA, fx.schema);
  const b = createStateStore(uriB, fx.schema);
  try {
    const [left, right] = await Promise.all([a.load(keys), b.load(keys)]);
    assert.ok(left.size > 0, 'no state at all: the comparison would prove nothing');
    assert.deepEqual([...right.keys()].sort(), [...left.keys()].sort());
    for (const [key, l] of left) {
      const r = right.get(key);
      assert.ok(r, key);
      assert.equal(r.kind, l.kind, key);
      if (l.kind === 'ok' && r.kind === 'ok') {
        assert.equal(r.stored.totalTokens, l.stored.totalTokens, key);
        assert.deepEqual(r.stored.fence, l.stored.fence, key);
        const diff = l.stored.state.h.reduce((m, v, i) => Math.max(m, Math.abs(v - r.stored.state.h[i])), 0);
        assert.ok(diff < 1e-5, `${key}: h differs by ${diff}`);
      }
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

const keysOf = (corpus: readonly CorpusMessage[]) => [...new Set(corpus.map((m) => m.key))];

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('replay of files into Redis', () => {
  it('rebuilds, in a fresh namespace, the states and outputs run builds from the same file', async () => {
    const corpus = makeCorpus(1500, 100, 21);
    const input = join(work, 'file.jsonl');
    writeJsonLines(input, corpus);
    const base = basePrefix('rp-file');
    const runUri = stateUri(base);
    const runOut = join(work, 'file-run.jsonl');
    const replayOut = join(work, 'file-replay.jsonl');
    assert.equal(
      await runCommand({
        in: `file:${input}`,
        out: `file:${runOut}`,
        state: runUri,
        model: fx.model,
        backend: 'cpu',
        logLevel: 'silent',
      }),
      0,
    );
    const running = await replay(
      { in: `file:${input}`, out: `file:${replayOut}`, state: runUri },
      { namespace: 'r1' },
    );
    assert.equal(running.prefix, replayPrefix(base, 'r1'));
    const result = await running.done;
    assert.equal(result.completed, true);
    assert.equal(await fx.redis.hget(checkpointKey(base, 'r1'), 'status'), 'done');
    await assertSameStates(runUri, running.stateUri, keysOf(corpus));
    const ran = byPosition(readOutputs(runOut));
    const replayed = byPosition(readOutputs(replayOut));
    assert.equal(replayed.size, ran.size);
    for (const [position, out] of ran) {
      const other = replayed.get(position);
      assert.ok(other, position);
      assert.equal(sameOutput(out, other), undefined, position);
    }
    // Run again with the same name: complete already, nothing is read again.
    const again = await (
      await replay({ in: `file:${input}`, out: `file:${replayOut}`, state: runUri }, { namespace: 'r1' })
    ).done;
    assert.equal(again.resumed, true);
    assert.equal(again.stats.messagesIn, 0);
  });

  it('resumes a replay killed midway (SIGKILL) and ends with the same states', async () => {
    const corpus = makeCorpus(5000, 200, 33);
    const input = join(work, 'killed.jsonl');
    writeJsonLines(input, corpus);
    const base = basePrefix('rp-kill');
    const baseUri = stateUri(base);
    const out = join(work, 'killed-out.jsonl');
    const flags = {
      in: `file:${input}`,
      out: `file:${out}`,
      state: baseUri,
      namespace: 'k1',
      model: fx.model,
      backend: 'cpu',
      logLevel: 'silent',
      // Small batches: many checkpoints, and slow enough to be killed halfway.
      maxBatchRows: '16',
      maxInFlight: '64',
    };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./replayChild.ts', import.meta.url)), JSON.stringify(flags)],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const key = checkpointKey(base, 'k1');
    await waitFor(
      'the first checkpoints',
      async () => Number((await fx.redis.hget(key, 'file:0')) ?? -1) >= 800,
    );
    child.kill('SIGKILL');
    await exited;
    const at = Number(await fx.redis.hget(key, 'file:0'));
    assert.notEqual(await fx.redis.hget(key, 'status'), 'done', 'the replay finished before it was killed');
    assert.ok(at < corpus.length - 1, `killed at line ${at}`);

    const { namespace, ...runFlags } = flags;
    const resumed = await (
      await replay({ ...runFlags, maxBatchRows: undefined, maxInFlight: undefined }, { namespace })
    ).done;
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.completed, true);
    assert.ok(resumed.stats.messagesIn < corpus.length, 'the resumed run skipped what the checkpoint covers');
    // Every line has an output (a line in flight at the kill may have two: the second one marked replayed).
    assert.equal(byPosition(readOutputs(out)).size, corpus.length);

    const refUri = stateUri(basePrefix('rp-kill-ref'));
    assert.equal(
      await runCommand({
        in: `file:${input}`,
        out: `file:${join(work, 'killed-ref.jsonl')}`,
        state: refUri,
        model: fx.model,
        backend: 'cpu',
        logLevel: 'silent',
      }),
      0,
    );
    await assertSameStates(refUri, stateUri(replayPrefix(base, 'k1')), keysOf(corpus));
  });
});

describe('promotion', () => {
  it('switches the active namespace in one step: a reader sees the old or the new one, never anything else', async () => {
    const corpus = makeCorpus(500, 30, 2);
    const input = join(work, 'promote.jsonl');
    writeJsonLines(input, corpus);
    const base = basePrefix('rp-promote');
    const baseUri = stateUri(base);
    const old = replayPrefix(base, 'old');
    await fx.redis.set(pointerKey(base), old);
    const seen = new Set<string | null>();
    let reading = true;
    const reader = (async () => {
      const client = await redisClient(fx.services.redisUrl);
      try {
        while (reading) seen.add(await client.get(pointerKey(base)));
      } finally {
        client.disconnect();
      }
    })();
    const running = await replay(
      { in: `file:${input}`, out: `file:${join(work, 'promote-out.jsonl')}`, state: baseUri },
      { namespace: 'new', promote: true },
    );
    const result = await running.done;
    reading = false;
    await reader;
    assert.equal(result.promoted, true);
    assert.equal(result.previous, old);
    assert.deepEqual(
      [...seen].filter((v) => v !== old && v !== running.prefix),
      [],
    );
    assert.ok(seen.has(old));
    assert.equal(await activeNamespace(baseUri), running.prefix);
    // What a live worker resolves at start: the base URI now reads the replay's states.
    const live = await resolveActiveNamespace(baseUri);
    assert.equal(live, running.stateUri);
    const store = createStateStore(live, fx.schema);
    try {
      const states = await store.load(keysOf(corpus));
      assert.ok(states.size > 0);
    } finally {
      await store.close();
    }
  });
});

describe('replay of a Kafka topic range', () => {
  /** Produces the corpus keyed to a new topic of 3 partitions. */
  async function topicWith(corpus: readonly CorpusMessage[]): Promise<string> {
    const topic = await fx.topic('rp-in', 3);
    await produce(
      fx.brokers,
      topic,
      corpus.map((m) => ({ key: m.key, value: JSON.stringify({ text: m.text, end: m.end }) })),
    );
    return topic;
  }

  /** `run` on the topic until it wrote `count` outputs, then stopped. */
  async function runOn(topic: string, state: string, out: string, count: number): Promise<void> {
    const loaded = await loadPipelineModel({ dir: fx.model, backend: 'cpu', log });
    const connect = {
      inputFormat: 'json' as const,
      maxInFlight: 10_000,
      maxValueBytes: 65536,
      exactlyOnce: false,
      log,
    };
    const source = await openSource(
      `kafka://${fx.brokers[0]}/${topic}?group=${uniqueName('rp-run')}&fromBeginning=true`,
      connect,
    );
    const sink = new FileSink(out);
    let written = 0;
    const counting = {
      write: async (records: Parameters<FileSink['write']>[0]) => {
        await sink.write(records);
        written += records.length;
      },
      close: () => sink.close(),
    };
    const store = createStateStore(state, loaded.schema);
    const running = runPipeline({
      source,
      sink: counting,
      deadLetters: new ArrayDeadLetterSink(),
      store,
      model: loaded.model,
      log,
    });
    await waitFor(`${count} run outputs`, () => written >= count);
    await running.stop();
    await running.done;
    await Promise.all([source.close(), sink.close(), store.close()]);
    loaded.model.engine.dispose();
  }

  it('reads to the end offsets taken at start and equals run on the same messages', async () => {
    const corpus = makeCorpus(1200, 80, 8);
    const topic = await topicWith(corpus);
    const base = basePrefix('rp-kafka');
    const runUri = stateUri(base);
    const runOut = join(work, 'kafka-run.jsonl');
    await runOn(topic, runUri, runOut, corpus.length);
    const replayOut = join(work, 'kafka-replay.jsonl');
    const running = await replay(
      { in: `kafka://${fx.brokers[0]}/${topic}`, out: `file:${replayOut}`, state: runUri },
      { namespace: 'k', toEnd: true, fromBeginning: true },
    );
    // Written after the replay took its end offsets: not part of the range.
    await produce(fx.brokers, topic, [{ key: 'late', value: JSON.stringify({ text: 'good' }) }]);
    const result = await running.done;
    assert.equal(result.completed, true);
    assert.equal(result.stats.messagesIn, corpus.length);
    const ran = byPosition(readOutputs(runOut));
    const replayed = byPosition(readOutputs(replayOut));
    assert.equal(ran.size, corpus.length);
    assert.equal(replayed.size, corpus.length);
    for (const [position, out] of ran) {
      const other = replayed.get(position);
      assert.ok(other, position);
      assert.equal(sameOutput(out, other), undefined, position);
    }
    await assertSameStates(runUri, running.stateUri, keysOf(corpus));
  });

  it('stops midway, resumes from its consumer group, and ends with run’s states; --from-offset reads a sub-range', async () => {
    const corpus = makeCorpus(2500, 100, 9);
    const topic = await topicWith(corpus);
    const base = basePrefix('rp-kafka-resume');
    const baseUri = stateUri(base);
    const out = join(work, 'kafka-resume.jsonl');
    const flags = {
      in: `kafka://${fx.brokers[0]}/${topic}`,
      out: `file:${out}`,
      state: baseUri,
      maxBatchRows: '16',
      maxInFlight: '64',
    };
    const first = await replay(flags, { namespace: 'r' });
    await waitFor('some outputs', async () => {
      try {
        return readOutputs(out).length >= 300;
      } catch {
        return false;
      }
    });
    await first.stop();
    const stopped = await first.done;
    assert.equal(stopped.completed, false);
    assert.ok(stopped.stats.messagesIn < corpus.length, 'stopped before the end');
    const second = await (
      await replay({ ...flags, maxBatchRows: '4096', maxInFlight: undefined }, { namespace: 'r' })
    ).done;
    assert.equal(second.resumed, true);
    assert.equal(second.completed, true);
    assert.ok(second.stats.messagesIn < corpus.length);
    assert.equal(byPosition(readOutputs(out)).size, corpus.length);
    const refUri = stateUri(basePrefix('rp-kafka-ref'));
    await runOn(topic, refUri, join(work, 'kafka-ref.jsonl'), corpus.length);
    await assertSameStates(refUri, stateUri(replayPrefix(base, 'r')), keysOf(corpus));

    // A sub-range: 10 records of partition 1 only.
    const sub = await (
      await replay(
        {
          in: `kafka://${fx.brokers[0]}/${topic}`,
          out: `file:${join(work, 'kafka-sub.jsonl')}`,
          state: baseUri,
        },
        { namespace: 'sub', fromOffset: '1:5' },
      )
    ).done;
    const outs = readOutputs(join(work, 'kafka-sub.jsonl'));
    assert.ok(outs.length > 0 && outs.every((o) => o.source.partition === 1 && Number(o.source.offset) >= 5));
    assert.equal(sub.stats.messagesIn, outs.length);
    assert.equal(Number(outs[0].source.offset), 5);
  });
});
