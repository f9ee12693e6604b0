/**
 * KafkaSource against a fake kafkajs consumer: budget, commit-after-ack and rebalance bookkeeping,
 * with no broker and no timers (the budget poll is set far beyond the test's life).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { SourceRecord } from '../../../core/contracts.js';
import { KafkaSource } from '../../../pipeline/kafka/source.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type Listener = (event: { payload: unknown }) => void;

class FakeConsumer {
  events = { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', CRASH: 'crash' };
  listeners = new Map<string, Listener>();
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  runConfig?: Record<string, unknown>;
  commits: { topic: string; partition: number; offset: string }[][] = [];
  seeks: { topic: string; partition: number; offset: string }[] = [];
  paused: unknown[] = [];
  stopped = false;
  heartbeats = 0;
  running = true;

  on(name: string, listener: Listener) {
    this.listeners.set(name, listener);
  }
  async connect() {}
  async subscribe() {}
  async run(config: Record<string, unknown>) {
    this.runConfig = config;
    this.eachBatch = config.eachBatch as typeof this.eachBatch;
  }
  async commitOffsets(offsets: { topic: string; partition: number; offset: string }[]) {
    this.commits.push(offsets);
  }
  seek(entry: { topic: string; partition: number; offset: string }) {
    this.seeks.push(entry);
  }
  pause(topics: unknown[]) {
    this.paused.push(...topics);
  }
  async stop() {
    this.stopped = true;
  }
  async disconnect() {}

  join(assignment: Record<string, number[]>, memberId = 'm-1') {
    this.listeners.get('join')?.({ payload: { memberAssignment: assignment, memberId } });
  }

  /** Runs one batch like kafkajs' runner would, recording resolved offsets. */
  batch(topic: string, partition: number, offsets: number[], valueSize = 10) {
    const resolved: string[] = [];
    const messages = offsets.map(
      (o) =>
        ({
          key: Buffer.from(`k${o}`),
          value: Buffer.alloc(valueSize, 1),
          offset: String(o),
          timestamp: '1700000000000',
          attributes: 0,
          headers: { h: Buffer.from('v') },
        }) as KafkaMessage,
    );
    const done = this.eachBatch?.({
      batch: { topic, partition, messages } as unknown as EachBatchPayload['batch'],
      resolveOffset: (o: string) => {
        resolved.push(o);
      },
      heartbeat: async () => {
        this.heartbeats++;
      },
      pause: () => () => {},
      commitOffsetsIfNecessary: async () => {},
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => this.running,
      isStale: () => false,
    });
    return { done: done as Promise<void>, resolved };
  }
}

/** The admin calls a source makes on assignment: the group's committed offsets (none unless set). */
class FakeAdmin {
  committed = new Map<number, string>();
  async connect() {}
  async disconnect() {}
  async fetchOffsets() {
    return [
      { topic: 't', partitions: [...this.committed].map(([partition, offset]) => ({ partition, offset })) },
    ];
  }
  async fetchTopicOffsets() {
    return [0, 1, 2, 3].map((partition) => ({ partition, offset: '0', low: '0', high: '100' }));
  }
}

/** Every source a test made: stopped after each test so that no waiting batch outlives it. */
const sources: KafkaSource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});

function setup(options: Partial<ConstructorParameters<typeof KafkaSource>[0]> = {}) {
  const consumer = new FakeConsumer();
  const admin = new FakeAdmin();
  const kafka = { consumer: () => consumer, admin: () => admin } as unknown as Kafka;
  const source = new KafkaSource({
    kafka,
    topic: 't',
    groupId: 'g',
    budgetPollMs: 60_000,
    drainTimeoutMs: 0,
    ...options,
  });
  sources.push(source);
  const records: SourceRecord[] = [];
  const subscription = source.records$.subscribe((r) => records.push(r));
  return { consumer, admin, source, records, subscription };
}

describe('KafkaSource (fake consumer)', () => {
  it('runs kafkajs without auto-commit or auto-resolve, with the configured concurrency', async () => {
    const { consumer } = setup({ partitionsConsumedConcurrently: 3 });
    await flush();
    assert.equal(consumer.runConfig?.autoCommit, false);
    assert.equal(consumer.runConfig?.eachBatchAutoResolve, false);
    assert.equal(consumer.runConfig?.partitionsConsumedConcurrently, 3);
  });

  it('pushes records with their position, key, value, headers and timestamp', async () => {
    const { consumer, records } = setup();
    await flush();
    consumer.join({ t: [0] });
    const { done, resolved } = consumer.batch('t', 0, [5, 6]);
    await done;
    assert.deepEqual(
      records.map((r) => r.source),
      [
        { topic: 't', partition: 0, offset: '5' },
        { topic: 't', partition: 0, offset: '6' },
      ],
    );
    assert.deepEqual(records[0].key, Buffer.from('k5'));
    assert.equal(records[0].value?.length, 10);
    assert.deepEqual(records[0].headers, { h: Buffer.from('v') });
    assert.equal(records[0].timestamp, 1_700_000_000_000);
    assert.deepEqual(resolved, ['5', '6'], 'fetch position moves past pushed records');
  });

  it('never has more un-acked records than the budget, and waits while heartbeating', async () => {
    const { consumer, source, records } = setup({ maxInFlightMessages: 3 });
    await flush();
    consumer.join({ t: [0] });
    const { done } = consumer.batch('t', 0, [0, 1, 2, 3, 4, 5, 6]);
    await flush();
    assert.equal(records.length, 3);
    assert.equal(source.inFlight().messages, 3);
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    await source.ack([records[0].source]);
    await flush();
    assert.equal(records.length, 4);
    assert.equal(source.inFlight().messages, 3);
    assert.ok(consumer.heartbeats >= 1, 'heartbeats while waiting for budget');
    await source.ack(records.slice(1, 4).map((r) => r.source));
    await flush();
    assert.equal(records.length, 7);
    await done;
    assert.ok(finished);
  });

  it('also bounds bytes in flight', async () => {
    const { consumer, source, records } = setup({ maxInFlightBytes: 2 * (10 + 2 + 128) });
    await flush();
    consumer.join({ t: [0] });
    void consumer.batch('t', 0, [0, 1, 2, 3]).done;
    await flush();
    assert.equal(records.length, 2);
    assert.equal(source.inFlight().bytes, 2 * 140);
  });

  it('commits the next offset of the contiguous acked prefix only', async () => {
    const { consumer, source, records } = setup();
    await flush();
    consumer.join({ t: [0, 1] });
    await consumer.batch('t', 0, [10, 11, 12]).done;
    await consumer.batch('t', 1, [3]).done;
    await source.ack([records[1].source]); // 11 before 10: nothing committable
    assert.equal(consumer.commits.length, 0);
    await source.ack([records[0].source, records[3].source]);
    assert.deepEqual(
      consumer.commits.flat().sort((a, b) => a.partition - b.partition),
      [
        { topic: 't', partition: 0, offset: '12' },
        { topic: 't', partition: 1, offset: '4' },
      ],
    );
  });

  it('commits nothing itself when the sink commits offsets', async () => {
    const { consumer, source, records } = setup({ commitViaSink: true });
    await flush();
    consumer.join({ t: [0] });
    await consumer.batch('t', 0, [0, 1]).done;
    await source.ack(records.map((r) => r.source));
    assert.equal(consumer.commits.length, 0);
    assert.equal(source.inFlight().messages, 0);
  });

  it('on rebalance: reports revoked partitions, never commits them, resumes kept ones after what is in flight', async () => {
    const revoked: unknown[] = [];
    const { consumer, source, records } = setup({ onRevoke: (p) => revoked.push(...p) });
    await flush();
    consumer.join({ t: [0, 1] });
    await consumer.batch('t', 0, [0, 1]).done;
    await consumer.batch('t', 1, [7, 8]).done;
    consumer.join({ t: [0] });
    assert.deepEqual(revoked, [{ topic: 't', partition: 1 }]);
    assert.deepEqual(consumer.seeks, [{ topic: 't', partition: 0, offset: '2' }]);
    assert.deepEqual(source.assignments(), [{ topic: 't', partition: 0 }]);
    await source.ack(records.map((r) => r.source));
    assert.deepEqual(consumer.commits.flat(), [{ topic: 't', partition: 0, offset: '2' }]);
    assert.equal(source.inFlight().messages, 0, 'acks of revoked records still give budget back');
  });

  it('exactly-once: a join under a new member id keeps nothing: every partition is revoked, then assigned again', async () => {
    const revoked: unknown[] = [];
    const assigned: unknown[] = [];
    const { consumer, source } = setup({
      commitViaSink: true,
      onRevoke: (p) => revoked.push(...p),
      onAssign: (p) => {
        assigned.push(...p);
      },
    });
    const seen: unknown[] = [];
    source.revoked$.subscribe((p) => seen.push(...p));
    await flush();
    consumer.join({ t: [0, 1] }, 'm-1');
    await consumer.batch('t', 0, [0, 1]).done;
    // Dropped from the group while paused: the rejoin gets a new member id and partition 0 again.
    consumer.join({ t: [0] }, 'm-2');
    assert.deepEqual(revoked, [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
    assert.deepEqual(seen, revoked, 'revoked$ says the same');
    assert.deepEqual(assigned.slice(2), [{ topic: 't', partition: 0 }], 'partition 0 assigned anew');
    assert.deepEqual(consumer.seeks, [], 'no resume after the stale in-flight records');
  });

  it('reads a newly assigned partition only once onAssign resolved, from the committed offset read after it', async () => {
    let fence!: () => void;
    const fenced = new Promise<void>((resolve) => {
      fence = resolve;
    });
    const { consumer, admin, records } = setup({ onAssign: () => fenced });
    await flush();
    consumer.join({ t: [0] });
    // The previous owner commits up to 5 before it is fenced; kafkajs had already fetched from 3.
    admin.committed.set(0, '5');
    const { done, resolved } = consumer.batch('t', 0, [3, 4, 5, 6]);
    await flush();
    assert.equal(records.length, 0, 'nothing read before the fence');
    fence();
    await done;
    assert.deepEqual(
      records.map((r) => r.source.offset),
      ['5', '6'],
      'records below the committed offset are the previous owner’s',
    );
    assert.deepEqual(resolved, ['3', '4', '5', '6']);
  });

  it('does not push a record twice when kafkajs re-fetches it', async () => {
    const { consumer, records } = setup();
    await flush();
    consumer.join({ t: [0] });
    await consumer.batch('t', 0, [0, 1]).done;
    const { done, resolved } = consumer.batch('t', 0, [0, 1, 2]);
    await done;
    assert.deepEqual(
      records.map((r) => r.source.offset),
      ['0', '1', '2'],
    );
    assert.deepEqual(resolved, ['0', '1', '2']);
  });

  it('stop pauses, drains acks, commits, stops the consumer and completes records$', async () => {
    const { consumer, source, records } = setup({ drainTimeoutMs: 60_000 });
    let completed = false;
    source.records$.subscribe({ complete: () => (completed = true) });
    await flush();
    consumer.join({ t: [0] });
    await consumer.batch('t', 0, [0, 1]).done;
    const stopping = source.stop();
    await flush();
    assert.deepEqual(consumer.paused, [{ topic: 't' }]);
    assert.equal(consumer.stopped, false, 'waits for in-flight acks');
    await source.ack(records.map((r) => r.source));
    await stopping;
    assert.equal(consumer.stopped, true);
    assert.ok(completed);
    assert.deepEqual(consumer.commits.flat(), [{ topic: 't', partition: 0, offset: '2' }]);
  });

  it('a group join while stopping readies nothing: onAssign is not called, and no admin call is made after close', async () => {
    const assigned: number[][] = [];
    const { consumer, admin, source } = setup({
      onAssign: (partitions) => {
        assigned.push(partitions.map((p) => p.partition));
      },
    });
    let adminCalls = 0;
    const fetchOffsets = admin.fetchOffsets.bind(admin);
    admin.fetchOffsets = async () => {
      adminCalls++;
      return fetchOffsets();
    };
    await flush();
    consumer.join({ t: [0] });
    await flush();
    assert.deepEqual(assigned, [[0]]);
    const calls = adminCalls;
    const stopping = source.stop();
    // kafkajs rejoins until the consumer has left: the join lands while the worker stops.
    consumer.join({ t: [0, 1, 2] });
    await stopping;
    await source.close();
    consumer.join({ t: [0, 1, 2, 3] });
    await flush();
    assert.deepEqual(assigned, [[0]], 'no onAssign (which opens producers) once stopping');
    assert.equal(adminCalls, calls, 'no admin request once stopping');
  });

  it('reports failing offset commits as unhealthy until one succeeds (/readyz)', async () => {
    const { consumer, source, records } = setup();
    await flush();
    consumer.join({ t: [0] });
    await consumer.batch('t', 0, [0, 1]).done;
    assert.equal(source.unhealthy(), undefined);
    const commitOffsets = consumer.commitOffsets.bind(consumer);
    consumer.commitOffsets = async () => {
      throw new Error('coordinator not available');
    };
    await source.ack([records[0].source]);
    assert.match(
      source.unhealthy() ?? '',
      /^offset commits of t failing for \d+ s: coordinator not available$/,
    );
    consumer.commitOffsets = commitOffsets;
    await source.ack([records[1].source]);
    assert.equal(source.unhealthy(), undefined, 'the next commit that succeeds clears it');
    assert.deepEqual(consumer.commits.flat(), [{ topic: 't', partition: 0, offset: '2' }]);
  });

  it('a batch waiting for budget gives up when the source stops', async () => {
    const { consumer, source, records } = setup({ maxInFlightMessages: 1 });
    await flush();
    consumer.join({ t: [0] });
    const { done, resolved } = consumer.batch('t', 0, [0, 1, 2]);
    await flush();
    assert.equal(records.length, 1);
    await source.stop();
    await done;
    assert.equal(records.length, 1);
    assert.deepEqual(resolved, ['0'], 'un-pushed records are not resolved: they are read again');
  });

  it('validates its options', () => {
    const kafka = {} as Kafka;
    assert.throws(() => new KafkaSource({ kafka, topic: '', groupId: 'g' }), /topic is required/);
    assert.throws(
      () =>
        new KafkaSource({ kafka, topic: 't', groupId: 'g', heartbeatInterval: 5000, sessionTimeout: 5000 }),
      /heartbeatInterval must be lower than sessionTimeout/,
    );
  });
});
