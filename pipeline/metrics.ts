/**
 * Prometheus metrics (prom-client) and the `/metrics`, `/healthz`, `/readyz` endpoints.
 * One registry per pipeline so tests and several pipelines in one process never collide.
 */
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Buckets of the latency histograms (seconds): fine around the goals (tens to hundreds of ms). */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The pipeline's instruments. */
export class PipelineMetrics {
  readonly registry = new Registry();
  readonly messagesIn = new Counter({
    name: 'rnnstream_messages_in_total',
    help: 'Messages read from the source',
    registers: [this.registry],
  });
  readonly messagesOut = new Counter({
    name: 'rnnstream_messages_out_total',
    help: 'Outputs written to the sink',
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'rnnstream_dead_letters_total',
    help: 'Messages refused, by reason and stage',
    labelNames: ['reason', 'stage'],
    registers: [this.registry],
  });
  readonly replayed = new Counter({
    name: 'rnnstream_replayed_total',
    help: 'Messages already covered by the stored fence (not applied again)',
    registers: [this.registry],
  });
  readonly badStates = new Counter({
    name: 'rnnstream_bad_states_total',
    help: 'Stored states refused (checksum, other model…)',
    registers: [this.registry],
  });
  readonly batchRows = new Histogram({
    name: 'rnnstream_batch_rows',
    help: 'Rows (keys) per micro-batch',
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384],
    registers: [this.registry],
  });
  readonly batchTokens = new Histogram({
    name: 'rnnstream_batch_tokens',
    help: 'Tokens per micro-batch',
    buckets: [1, 16, 64, 256, 1024, 4096, 16384, 65536],
    registers: [this.registry],
  });
  readonly stepSeconds = new Histogram({
    name: 'rnnstream_step_seconds',
    help: 'Time of one batched RNN step',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly stateSeconds = new Histogram({
    name: 'rnnstream_state_seconds',
    help: 'State store round trip, by operation',
    labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  readonly sinkSeconds = new Histogram({
    name: 'rnnstream_sink_seconds',
    help: 'Output sink write time per batch',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly messageLatency = new Histogram({
    name: 'rnnstream_message_latency_seconds',
    help: "From an input message's source timestamp (Kafka's) to its output written",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly workerLatency = new Histogram({
    name: 'rnnstream_worker_latency_seconds',
    help: "From an input message's arrival at this worker to its output durable (what --target-latency-ms aims at)",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly stageLatency = new Histogram({
    name: 'rnnstream_message_stage_seconds',
    help: 'Time of each message in each stage (fetch, batch, key_gate, load, step, store, sink, transaction, commit)',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly latencyTarget = new Gauge({
    name: 'rnnstream_latency_target_seconds',
    help: 'The latency goal (--target-latency-ms; 0 = none)',
    registers: [this.registry],
  });
  readonly latencyOverload = new Counter({
    name: 'rnnstream_latency_overload_batches_total',
    help: 'Batches the learned costs predicted to miss the latency goal however they were cut (overload)',
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({
    name: 'rnnstream_state_cache_hits_total',
    help: 'State loads served by the local cache',
    registers: [this.registry],
  });
  readonly cacheMisses = new Counter({
    name: 'rnnstream_state_cache_misses_total',
    help: 'State loads that went to the store',
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'rnnstream_retries_total',
    help: 'Retried transient failures, by operation',
    labelNames: ['op'],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'rnnstream_in_flight_messages',
    help: 'Messages read and not yet committed',
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'rnnstream_consumer_lag',
    help: 'Kafka consumer lag (messages), by partition',
    labelNames: ['topic', 'partition'],
    registers: [this.registry],
  });
  readonly backend = new Gauge({
    name: 'rnnstream_backend_info',
    help: 'The TF.js backend in use (value 1)',
    labelNames: ['backend'],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'rnnstream_' });
  }
}

/** Health callbacks for the HTTP endpoints. */
export interface HealthChecks {
  /** The process works (event loop alive, pipeline not failed). */
  alive(): boolean;
  /** Consuming and the state store answers; false, or why not (the body of the 503), when not. */
  ready(): Promise<boolean | string>;
}

/**
 * Serves `/metrics`, `/healthz` and `/readyz` on `port` (0 = any free port).
 * @example const server = await serveMetrics(metrics, health, 9464);
 */
export async function serveMetrics(
  metrics: PipelineMetrics,
  health: HealthChecks,
  port: number,
  host = '0.0.0.0',
): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (url.startsWith('/metrics')) {
      metrics.registry.metrics().then(
        (text) => reply(200, text, metrics.registry.contentType),
        (error: unknown) => reply(500, String(error)),
      );
    } else if (url.startsWith('/healthz')) {
      reply(health.alive() ? 200 : 503, health.alive() ? 'ok\n' : 'failed\n');
    } else if (url.startsWith('/readyz')) {
      health.ready().then(
        (ok) => reply(ok === true ? 200 : 503, ok === true ? 'ready\n' : `not ready${ok ? `: ${ok}` : ''}\n`),
        () => reply(503, 'not ready\n'),
      );
    } else {
      reply(404, 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
