/**
 * A Kafka topic as a {@link Source}: a consumer group whose records flow into `records$` under an
 * in-flight budget, and whose offsets are committed only once the pipeline acks them.
 *
 * How it holds the invariants (DESIGN.md, "Semantics"):
 * - Bounded memory: before a record is pushed the batch handler takes budget (messages and bytes);
 *   while it waits it keeps heartbeating, so a long computation downstream never costs the session.
 * - Commit after ack: `autoCommit` is off; an ack marks records done per partition and the end of the
 *   contiguous acked prefix (+1) is committed with `consumer.commitOffsets`. An un-acked record is never
 *   committed past, whatever order acks come in.
 * - Overlap: the batch handler returns once its records are pushed (not acked), so kafkajs fetches the
 *   next batch while the pipeline computes the previous one. kafkajs waits for every batch of one fetch
 *   before fetching again; waiting for acks inside the handler would serialize fetch and compute.
 * - Rebalance: on each group join, partitions that left this worker are reported to `onRevoke` (and
 *   `revoked$`) and their in-flight records are never committed (their acks only give budget back);
 *   partitions this worker keeps resume after the last pushed record (a seek), so no record in flight is
 *   read twice. With `commitViaSink` (exactly-once), a join under a new member id (the worker was dropped
 *   from the group, e.g. while it was paused past its session timeout) keeps nothing: every partition
 *   counts as revoked, then assigned.
 * - Assignment: `onAssign` may return a promise (the exactly-once sink fencing the partitions' previous
 *   owners); a new partition is read only once it resolved, from the group's committed offset read after
 *   it, or else from `offsetReset`. Where reading begins is logged per partition.
 */
import type { Admin, Consumer, ConsumerGroupJoinEvent, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { type Observable, Observable as RxObservable, Subject } from 'rxjs';
import { partitionKey, type SourcePosition, type SourceRecord } from '../../core/contracts.js';
import { Budget } from '../budget.js';
import type { Source } from '../connectors.js';
import { type KafkaLogger, SILENT_KAFKA_LOGGER, toKafkaError } from './client.js';
import { PartitionTracker } from './offsetTracker.js';

/** A topic partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Consumer lag of one partition (for metrics). */
export interface PartitionLag extends TopicPartition {
  /** The group's committed offset (`-1` when none). */
  committed: string;
  /** The partition's end offset (next offset to be written). */
  high: string;
  /** Records not yet committed by the group. */
  lag: number;
}

/** Options of {@link KafkaSource}. */
export interface KafkaSourceOptions {
  /** The kafkajs client ({@link createKafkaClient}). */
  kafka: Kafka;
  topic: string;
  groupId: string;
  /**
   * Where a partition with no committed offset starts: `earliest` (Kafka Streams' and Flink's default for a
   * new application) or `latest`. @default 'earliest'
   */
  offsetReset?: OffsetReset;
  /** Partitions whose batches are handled at the same time (kafkajs `partitionsConsumedConcurrently`). @default 8 */
  partitionsConsumedConcurrently?: number;
  /** Most records pushed and not yet acked. @default 10000 */
  maxInFlightMessages?: number;
  /** Most bytes (keys + values) pushed and not yet acked. @default 67108864 (64 MiB) */
  maxInFlightBytes?: number;
  /**
   * Exactly-once mode: the sink commits offsets inside its transaction (`Sink.commitsOffsets`), so
   * `ack` only gives budget back.
   * @default false
   */
  commitViaSink?: boolean;
  /** Called when partitions leave this worker (rebalance): drop their cached state. */
  onRevoke?: (partitions: TopicPartition[]) => void;
  /**
   * Called when partitions are assigned to this worker (first join and every rebalance). A returned promise
   * holds back reading them until it resolves (its rejection stops the source).
   */
  onAssign?: (partitions: TopicPartition[]) => void | Promise<void>;
  logger?: KafkaLogger;
  /** @default 30000 */
  sessionTimeout?: number;
  /** @default 3000 */
  heartbeatInterval?: number;
  /** Most bytes fetched per partition per request. @default 1048576 */
  maxBytesPerPartition?: number;
  /** Longest time the broker holds a fetch with no data (also bounds how fast `stop()` returns). @default 1000 */
  maxWaitTimeInMs?: number;
  /** How often a handler waiting for budget wakes to heartbeat and check for a rebalance. @default 1000 */
  budgetPollMs?: number;
  /** How long `stop()` waits for in-flight records to be acked before leaving the group. @default 10000 */
  drainTimeoutMs?: number;
  /**
   * A bounded read (replay): per partition, the offset to stop before (exclusive: an end offset as
   * `admin.fetchTopicOffsets` gives it, `high`). A partition is paused once reached, and `records$`
   * completes when every assigned partition reached its end; partitions absent from the map count as
   * already at their end. The consumer stays in the group so that acks keep committing.
   * @default undefined (read for ever)
   */
  stopAt?: ReadonlyMap<number, string>;
}

/** Where a partition without a committed offset starts. */
export type OffsetReset = 'earliest' | 'latest';

/** Defaults of {@link KafkaSourceOptions}. */
export const DEFAULT_KAFKA_SOURCE_OPTIONS = {
  offsetReset: 'earliest' as OffsetReset,
  partitionsConsumedConcurrently: 8,
  maxInFlightMessages: 10_000,
  maxInFlightBytes: 64 * 1024 * 1024,
  commitViaSink: false,
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  maxBytesPerPartition: 1024 * 1024,
  maxWaitTimeInMs: 1_000,
  budgetPollMs: 1_000,
  drainTimeoutMs: 10_000,
};

/** Budget charged per record beyond its key and value: headers and object overhead, roughly. */
const RECORD_OVERHEAD_BYTES = 128;

/**
 * Reads one topic as a consumer group, under an in-flight budget, committing only acked offsets.
 *
 * The consumer starts on the first subscription to `records$` (or an explicit {@link start}).
 *
 * @example
 * const source = new KafkaSource({ kafka, topic: 'texts', groupId: 'rnnstream', onRevoke: (p) => store.forgetPartitions(p) });
 * source.records$.pipe(…process…).subscribe({ next: (done) => source.ack(done.positions) });
 */
export class KafkaSource implements Source {
  readonly records$: Observable<SourceRecord>;
  readonly revoked$: Observable<TopicPartition[]>;
  readonly topic: string;
  readonly groupId: string;
  readonly #options: typeof DEFAULT_KAFKA_SOURCE_OPTIONS & KafkaSourceOptions;
  readonly #log: KafkaLogger;
  readonly #budget: Budget;
  readonly #subject = new Subject<SourceRecord>();
  readonly #revoked = new Subject<TopicPartition[]>();
  /** Member id of the last group join: a new one means the group dropped this worker meanwhile. */
  #memberId: string | undefined;
  /** Newly assigned partitions: resolves when they may be read (onAssign done, start offsets known). */
  readonly #ready = new Map<string, Promise<void>>();
  /** The committed offset read after an assignment: records below it are another owner's, done. */
  readonly #startAt = new Map<string, bigint>();
  /** The group join that (last) assigned each partition, so a late `#prepare` of an older one is ignored. */
  readonly #assignedIn = new Map<string, number>();
  /** Partitions given up by {@link forfeit} (paused until the group assigns them again). */
  readonly #forfeited = new Set<string>();
  #joins = 0;
  readonly #trackers = new Map<string, PartitionTracker>();
  /** Trackers of revoked partitions: their acks give budget back but are never committed. */
  readonly #orphans = new Map<string, PartitionTracker[]>();
  readonly #assigned = new Map<string, TopicPartition>();
  readonly #pendingCommits = new Map<string, { topic: string; partition: number; offset: string }>();
  readonly #stopSignal = new AbortController();
  #commitChain: Promise<void> = Promise.resolve();
  /** Set while offset commits fail (cleared by the next one that succeeds): `/readyz` reports it. */
  #commitFailure: { since: number; error: string } | undefined;
  #consumer: Consumer | undefined;
  #admin: Admin | undefined;
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #closed = false;
  /** Partitions that reached their `stopAt` offset. */
  readonly #reachedEnd = new Set<number>();
  #ended = false;

  constructor(options: KafkaSourceOptions) {
    this.#options = { ...DEFAULT_KAFKA_SOURCE_OPTIONS, ...stripUndefined(options) };
    const o = this.#options;
    if (!o.topic) throw new RangeError('topic is required');
    if (!o.groupId) throw new RangeError('groupId is required');
    if (!Number.isInteger(o.partitionsConsumedConcurrently) || o.partitionsConsumedConcurrently < 1) {
      throw new RangeError(
        `partitionsConsumedConcurrently must be a positive integer, got ${o.partitionsConsumedConcurrently}`,
      );
    }
    if (o.heartbeatInterval >= o.sessionTimeout) {
      throw new RangeError('heartbeatInterval must be lower than sessionTimeout');
    }
    this.topic = o.topic;
    this.groupId = o.groupId;
    this.#log = o.logger ?? SILENT_KAFKA_LOGGER;
    this.#budget = new Budget({ maxMessages: o.maxInFlightMessages, maxBytes: o.maxInFlightBytes });
    this.revoked$ = this.#revoked.asObservable();
    this.records$ = new RxObservable<SourceRecord>((subscriber) => {
      const subscription = this.#subject.subscribe(subscriber);
      this.start().catch((error: unknown) =>
        this.#subject.error(toKafkaError(error, `kafka source ${this.topic}`)),
      );
      return subscription;
    });
  }

  /** Records pushed and not yet acked, and their bytes (for metrics and tests). */
  inFlight(): { messages: number; bytes: number } {
    return { messages: this.#budget.messages, bytes: this.#budget.bytes };
  }

  /**
   * Why this source is not healthy, or undefined when it is: offset commits have been failing since the
   * last one that succeeded (the run goes on and a later commit covers them, but progress is not durable).
   */
  unhealthy(): string | undefined {
    const failure = this.#commitFailure;
    if (!failure) return undefined;
    const seconds = Math.round((Date.now() - failure.since) / 1000);
    return `offset commits of ${this.topic} failing for ${seconds} s: ${failure.error}`;
  }

  /** Partitions currently assigned to this worker. */
  assignments(): TopicPartition[] {
    return [...this.#assigned.values()];
  }

  /** Connects, joins the group and starts fetching. Idempotent; `records$` calls it on subscription. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    const consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeout,
      heartbeatInterval: o.heartbeatInterval,
      maxBytesPerPartition: o.maxBytesPerPartition,
      maxWaitTimeInMs: o.maxWaitTimeInMs,
      // Exactly-once outputs upstream must stay invisible until committed.
      readUncommitted: false,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.#onJoin(event));
    consumer.on(consumer.events.REBALANCING, () =>
      this.#log.info({ topic: this.topic, groupId: o.groupId }, 'rebalancing'),
    );
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.#log.error(
        { topic: this.topic, groupId: o.groupId, restart, err: error?.message },
        'kafka consumer crashed',
      );
      if (!restart) this.#subject.error(toKafkaError(error, `kafka consumer of ${this.topic}`));
    });
    if (o.stopAt) {
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        // Batches of control records or aborted messages only never reach eachBatch; their last offset
        // still moves the position, and may be the partition's last one.
        if (payload.batchSize === 0 && payload.topic === this.topic)
          this.#passed(payload.partition, payload.lastOffset);
      });
      await this.#findPartitionsAtEnd(o.stopAt);
    }
    await consumer.connect();
    await consumer.subscribe({ topics: [o.topic], fromBeginning: o.offsetReset === 'earliest' });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#log.info({ topic: this.topic, groupId: o.groupId }, 'kafka source started');
  }

  #onJoin(event: ConsumerGroupJoinEvent): void {
    const partitions = event.payload.memberAssignment[this.topic] ?? [];
    const next = new Map(
      partitions.map((p) => [partitionKey(this.topic, p), { topic: this.topic, partition: p }]),
    );
    // A new member id: the group dropped this worker (a pause past the session timeout) and others may have
    // run its partitions meanwhile. With exactly-once their new owner fenced this worker's producers, so the
    // outputs of what it had in flight are dropped: it keeps nothing and reads again from the committed
    // offsets. (At-least-once keeps and resumes them: what it has in flight still gets its outputs.)
    const lost =
      this.#options.commitViaSink &&
      this.#memberId !== undefined &&
      event.payload.memberId !== this.#memberId;
    this.#memberId = event.payload.memberId;
    const revoked = [...this.#assigned.entries()].filter(([key]) => lost || !next.has(key));
    const added = [...next.entries()].filter(([key]) => lost || !this.#assigned.has(key));
    for (const [key] of revoked) this.#release(key);
    // Forfeited partitions were paused until the group assigned them again.
    if (this.#forfeited.size > 0) {
      const partitions = [...this.#forfeited].map((key) => Number(key.slice(key.lastIndexOf('|') + 1)));
      this.#forfeited.clear();
      try {
        this.#consumer?.resume([{ topic: this.topic, partitions }]);
      } catch {
        // Not running: nothing to resume.
      }
    }
    // kafkajs restarts kept partitions at their committed offset; resume after what is already in flight.
    for (const [key, tp] of next) {
      const resumeAt = this.#trackers.get(key)?.nextFetchOffset;
      if (resumeAt !== undefined) this.#consumer?.seek({ ...tp, offset: resumeAt });
    }
    this.#assigned.clear();
    for (const [key, tp] of next) this.#assigned.set(key, tp);
    this.#log.info(
      {
        topic: this.topic,
        groupId: this.groupId,
        assigned: partitions,
        revoked: revoked.map(([, tp]) => tp.partition),
        lost,
      },
      'kafka group joined',
    );
    if (revoked.length > 0) {
      const partitions = revoked.map(([, tp]) => tp);
      this.#revoked.next(partitions);
      this.#options.onRevoke?.(partitions);
    }
    // A join while stopping (the consumer rejoins until it leaves) readies nothing: nothing more is read,
    // and `onAssign` would open what the closing worker no longer closes (a producer per partition).
    if (added.length > 0 && !this.#stopSignal.signal.aborted) {
      const join = ++this.#joins;
      for (const [key] of added) this.#assignedIn.set(key, join);
      const ready = this.#prepare(
        added.map(([, tp]) => tp),
        join,
      );
      for (const [key] of added) this.#ready.set(key, ready);
    }
    if (this.#options.stopAt) {
      for (const p of partitions) if (this.#reachedEnd.has(p)) this.#pauseAtEnd(p);
      this.#checkEnded();
    }
  }

  /** Drops a partition's bookkeeping: its in-flight records are never committed (their acks give budget back). */
  #release(key: string): void {
    const tracker = this.#trackers.get(key);
    this.#trackers.delete(key);
    this.#pendingCommits.delete(key);
    this.#ready.delete(key);
    this.#startAt.delete(key);
    if (tracker && tracker.pending > 0) this.#orphans.set(key, [...(this.#orphans.get(key) ?? []), tracker]);
  }

  /**
   * Gives up partitions this worker still holds but may no longer write: the exactly-once sink found their
   * producer fenced (another worker was assigned them in a generation this one missed). They count as
   * revoked now (`revoked$`, `onRevoke`) and are paused; the next group join assigns them afresh (fenced
   * again, read from the committed offset), instead of resuming after records whose outputs were dropped.
   */
  forfeit(partitions: readonly TopicPartition[]): void {
    const held = partitions.filter((tp) => this.#assigned.has(partitionKey(tp.topic, tp.partition)));
    if (held.length === 0) return;
    for (const tp of held) {
      const key = partitionKey(tp.topic, tp.partition);
      this.#release(key);
      this.#assigned.delete(key);
      this.#forfeited.add(key);
    }
    try {
      this.#consumer?.pause([{ topic: this.topic, partitions: held.map((tp) => tp.partition) }]);
    } catch {
      // Not running: nothing to pause.
    }
    this.#log.warn(
      { topic: this.topic, groupId: this.groupId, partitions: held.map((tp) => tp.partition) },
      'partitions forfeited: another worker owns them now; reading them again after the next rebalance',
    );
    this.#revoked.next([...held]);
    this.#options.onRevoke?.([...held]);
  }

  /**
   * Readies newly assigned partitions: runs `onAssign` (the exactly-once sink fences their previous owners),
   * then reads the group's committed offsets — after the fence, so no earlier owner can move them any more —
   * and logs per partition where reading begins. Never rejects: a failure stops the source.
   */
  async #prepare(partitions: TopicPartition[], join: number): Promise<void> {
    try {
      await this.#options.onAssign?.(partitions);
      const admin = await this.#adminClient();
      const [committed, ends] = await Promise.all([
        admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
        admin.fetchTopicOffsets(this.topic),
      ]);
      const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      const bounds = new Map(ends.map((e) => [e.partition, e]));
      const reset = this.#options.offsetReset;
      for (const { partition } of partitions) {
        const offset = at.get(partition) ?? -1n;
        if (offset >= 0n) {
          // Set only while this assignment holds (a rebalance may have moved the partition meanwhile).
          const key = partitionKey(this.topic, partition);
          if (this.#assigned.has(key) && this.#assignedIn.get(key) === join) this.#startAt.set(key, offset);
          this.#log.info(
            { topic: this.topic, partition, offset: offset.toString() },
            'partition assigned: reading from the committed offset',
          );
        } else {
          const bound = bounds.get(partition);
          this.#log.info(
            {
              topic: this.topic,
              partition,
              offsetReset: reset,
              offset: reset === 'earliest' ? bound?.low : bound?.high,
            },
            `partition assigned: no committed offset, reading from the ${reset} offset (offsetReset=${reset})`,
          );
        }
      }
    } catch (error) {
      // Stopped meanwhile (its admin client closed): nothing is read any more, so nothing needs readying.
      if (this.#stopSignal.signal.aborted) return;
      this.#log.error(
        {
          topic: this.topic,
          groupId: this.groupId,
          partitions: partitions.map((p) => p.partition),
          err: (error as Error).message,
        },
        'could not ready assigned partitions',
      );
      this.#subject.error(toKafkaError(error, `kafka source ${this.topic}: readying assigned partitions`));
    }
  }

  /**
   * Resolves once the partition may be read (see {@link #prepare}), heartbeating meanwhile; false when the
   * batch is no longer to be handled (a rebalance or a stop).
   */
  async #whenReady(key: string, heartbeat: () => Promise<void>, active: () => boolean): Promise<boolean> {
    const ready = this.#ready.get(key);
    if (!ready) return true;
    let done = false;
    const marked = ready.then(() => {
      done = true;
    });
    while (!done) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        marked,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.#options.budgetPollMs);
        }),
      ]);
      clearTimeout(timer);
      if (!active()) return false;
      if (!done) await heartbeat();
    }
    if (this.#ready.get(key) === ready) this.#ready.delete(key);
    return true;
  }

  /**
   * Marks the partitions whose start position (the group's committed offset, else the earliest or
   * latest offset) is already at or past their stop offset: no fetch would ever tell.
   */
  async #findPartitionsAtEnd(stopAt: ReadonlyMap<number, string>): Promise<void> {
    const admin = await this.#adminClient();
    const [committed, ends] = await Promise.all([
      admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      admin.fetchTopicOffsets(this.topic),
    ]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const { partition, low, high } of ends) {
      const stop = stopAt.get(partition);
      const at = byPartition.get(partition) ?? -1n;
      const start = at >= 0n ? at : BigInt(this.#options.offsetReset === 'earliest' ? low : high);
      if (stop === undefined || start >= BigInt(stop)) this.#reachedEnd.add(partition);
    }
  }

  /** Records that the partition's position passed `offset`; at its stop offset it is paused for good. */
  #passed(partition: number, offset: string): void {
    const stop = this.#options.stopAt?.get(partition);
    if (stop !== undefined && BigInt(offset) + 1n < BigInt(stop)) return;
    if (!this.#reachedEnd.has(partition)) {
      this.#reachedEnd.add(partition);
      this.#log.info({ topic: this.topic, partition, stopAt: stop }, 'partition reached its stop offset');
    }
    this.#pauseAtEnd(partition);
    this.#checkEnded();
  }

  #pauseAtEnd(partition: number): void {
    try {
      this.#consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
    } catch {
      // Not running: nothing to pause.
    }
  }

  /** Completes `records$` once every assigned partition reached its stop offset. */
  #checkEnded(): void {
    if (this.#ended || this.#assigned.size === 0) return;
    for (const { partition } of this.#assigned.values()) if (!this.#reachedEnd.has(partition)) return;
    this.#ended = true;
    this.#log.info({ topic: this.topic, groupId: this.groupId }, 'every partition reached its stop offset');
    this.#subject.complete();
  }

  /** Whether a bounded read (`stopAt`) has read everything up to its stop offsets. */
  reachedEnd(): boolean {
    return this.#ended;
  }

  async #adminClient(): Promise<Admin> {
    // A closed source opens nothing again (a connection would keep the process alive).
    if (this.#closed) throw new RangeError(`kafka source ${this.topic} is closed`);
    if (!this.#admin) {
      const admin = this.#options.kafka.admin();
      await admin.connect();
      this.#admin = admin;
    }
    return this.#admin;
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const key = partitionKey(topic, partition);
    // A batch fetched before a rebalance took the partition away.
    if (!this.#assigned.has(key)) return;
    let tracker = this.#trackers.get(key);
    if (!tracker) {
      tracker = new PartitionTracker(topic, partition);
      this.#trackers.set(key, tracker);
    }
    // A handler of a partition revoked meanwhile (a new tracker took over) pushes nothing more.
    const active = (): boolean =>
      !this.#stopSignal.signal.aborted && isRunning() && !isStale() && this.#trackers.get(key) === tracker;
    if (!(await this.#whenReady(key, heartbeat, active))) return;
    const resumeAt = tracker.nextFetchOffset;
    const startAt = this.#startAt.get(key);
    const stop = this.#options.stopAt ? BigInt(this.#options.stopAt.get(partition) ?? '0') : undefined;
    if (stop !== undefined && this.#reachedEnd.has(partition)) {
      this.#pauseAtEnd(partition);
      return;
    }
    for (const message of batch.messages) {
      if (!active()) return;
      // A bounded read ends here: this record and the rest stay unread (and unresolved).
      if (stop !== undefined && BigInt(message.offset) >= stop) {
        this.#passed(partition, (stop - 1n).toString());
        return;
      }
      // Already pushed (a re-fetch after a rejoin): its ack is pending or done; never push it twice.
      if (resumeAt !== undefined && BigInt(message.offset) < BigInt(resumeAt)) {
        resolveOffset(message.offset);
        continue;
      }
      // Below the offset committed when the partition came to this worker: done by its previous owner
      // (kafkajs may have read the committed offset before that owner was fenced).
      if (startAt !== undefined && BigInt(message.offset) < startAt) {
        resolveOffset(message.offset);
        continue;
      }
      const bytes = recordBytes(message);
      while (!this.#budget.tryAcquire(1, bytes)) {
        await this.#waitForRelease(this.#options.budgetPollMs, { wakeOnStop: true });
        if (!active()) return;
        // Throws when the group rebalances: kafkajs then rejoins, and #onJoin sorts out the partitions.
        await heartbeat();
      }
      tracker.push(message.offset, bytes);
      resolveOffset(message.offset);
      this.#subject.next(toSourceRecord(topic, partition, message));
    }
    if (stop !== undefined && active()) this.#passed(partition, batch.lastOffset());
  }

  /**
   * Resolves at the next budget release, after `ms`, or (when `wakeOnStop`) when the source stops.
   * A ref'd timer, unlike `AbortSignal.timeout`: a wait must keep the process alive.
   */
  async #waitForRelease(ms: number, { wakeOnStop }: { wakeOnStop: boolean }): Promise<void> {
    const wake = new AbortController();
    const timer = setTimeout(() => wake.abort(), ms);
    const signal = wakeOnStop ? AbortSignal.any([wake.signal, this.#stopSignal.signal]) : wake.signal;
    try {
      await this.#budget.released(signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Marks records processed (state and output durable): gives their budget back and commits, per
   * partition, up to the end of the contiguous acked prefix. Resolves once that commit was attempted;
   * a failed commit is logged, not thrown (the next one covers it; a rebalance re-delivers, and the
   * state fence makes that harmless).
   */
  async ack(positions: readonly SourcePosition[]): Promise<void> {
    let messages = 0;
    let bytes = 0;
    const touched = new Set<PartitionTracker>();
    for (const position of positions) {
      const key = partitionKey(position.topic, position.partition);
      const tracker = this.#trackers.get(key);
      let size = tracker?.ack(position.offset);
      if (size !== undefined && tracker) touched.add(tracker);
      else size = this.#ackOrphan(key, position.offset);
      if (size === undefined) {
        this.#log.debug({ ...position }, 'ack of a record not in flight (ignored)');
        continue;
      }
      messages += 1;
      bytes += size;
    }
    if (messages > 0) this.#budget.release(messages, bytes);
    if (this.#options.commitViaSink) {
      for (const tracker of touched) tracker.advance();
      return;
    }
    for (const tracker of touched) {
      const offset = tracker.advance();
      const key = partitionKey(tracker.topic, tracker.partition);
      if (offset !== undefined && this.#assigned.has(key)) {
        this.#pendingCommits.set(key, { topic: tracker.topic, partition: tracker.partition, offset });
      }
    }
    if (this.#pendingCommits.size > 0) await this.#commit();
  }

  #ackOrphan(key: string, offset: string): number | undefined {
    const trackers = this.#orphans.get(key);
    if (!trackers) return undefined;
    for (const tracker of trackers) {
      const size = tracker.ack(offset);
      if (size === undefined) continue;
      const left = trackers.filter((t) => t.pending > 0);
      if (left.length > 0) this.#orphans.set(key, left);
      else this.#orphans.delete(key);
      return size;
    }
    return undefined;
  }

  /** Commits whatever is pending, one commit at a time; each caller's offsets are committed when it resolves. */
  #commit(): Promise<void> {
    this.#commitChain = this.#commitChain.then(async () => {
      if (this.#pendingCommits.size === 0 || !this.#consumer) return;
      const offsets = [...this.#pendingCommits.values()];
      this.#pendingCommits.clear();
      try {
        await this.#consumer.commitOffsets(offsets);
        this.#commitFailure = undefined;
      } catch (error) {
        this.#commitFailure ??= { since: Date.now(), error: (error as Error).message };
        this.#log.warn(
          { topic: this.topic, groupId: this.groupId, offsets, err: (error as Error).message },
          'offset commit failed (the next commit covers it)',
        );
      }
    });
    return this.#commitChain;
  }

  /**
   * Stops reading: pushes nothing more, waits (up to `drainTimeoutMs`) for in-flight records to be
   * acked and committed, leaves the group and completes `records$`. Acks after this only give budget back.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopSignal.abort();
    const consumer = this.#consumer;
    if (this.#started) {
      await this.#started.catch(() => {});
      try {
        consumer?.pause([{ topic: this.topic }]);
      } catch {
        // Not running (crashed): nothing to pause.
      }
      const deadline = Date.now() + this.#options.drainTimeoutMs;
      while (this.#budget.messages > 0 && Date.now() < deadline) {
        await this.#waitForRelease(Math.max(1, deadline - Date.now()), { wakeOnStop: false });
      }
      if (this.#budget.messages > 0) {
        this.#log.warn(
          { topic: this.topic, groupId: this.groupId, inFlight: this.#budget.messages },
          'stopping with records not acked: they will be read again',
        );
      }
      await this.#commitChain;
      await consumer?.stop();
    }
    this.#subject.complete();
    this.#revoked.complete();
  }

  /** Stops (if needed) and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stop();
    await this.#consumer?.disconnect();
    await this.#admin?.disconnect();
  }

  /**
   * Per-partition lag of the group: end offset minus committed offset (for metrics).
   *
   * @example
   * const total = (await source.lag()).reduce((sum, p) => sum + p.lag, 0);
   */
  async lag(): Promise<PartitionLag[]> {
    const admin = await this.#adminClient();
    const [committed, ends] = await Promise.all([
      admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      admin.fetchTopicOffsets(this.topic),
    ]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
    return ends
      .map(({ partition, high, low }) => {
        const at = byPartition.get(partition) ?? '-1';
        const from = BigInt(at) < 0n ? BigInt(low) : BigInt(at);
        const lag = BigInt(high) - from;
        return { topic: this.topic, partition, committed: at, high, lag: Number(lag > 0n ? lag : 0n) };
      })
      .sort((a, b) => a.partition - b.partition);
  }
}

/** A kafkajs message as a {@link SourceRecord}. */
export function toSourceRecord(topic: string, partition: number, message: KafkaMessage): SourceRecord {
  const record: SourceRecord = {
    key: message.key ?? null,
    value: message.value ?? null,
    source: { topic, partition, offset: message.offset },
  };
  if (message.headers) {
    const headers: Record<string, Buffer | string | undefined> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      // Repeated headers: the last one wins (Kafka's `lastHeader`).
      headers[name] = Array.isArray(value) ? value[value.length - 1] : value;
    }
    if (Object.keys(headers).length > 0) record.headers = headers;
  }
  const timestamp = Number(message.timestamp);
  if (Number.isFinite(timestamp) && timestamp >= 0) record.timestamp = timestamp;
  return record;
}

function recordBytes(message: KafkaMessage): number {
  return (message.key?.length ?? 0) + (message.value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
