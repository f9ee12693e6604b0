/**
 * `rnnstream feed --to kafka://H:P/TOPIC --keys K --rate R`: a load generator users can run too. It
 * sends JSON input messages (`{"text"}`, keyed by `session-N`) drawn from a texts file at a steady rate,
 * round-robin over K keys, in batches every `--tick-ms` (100 ms by default), until `--count` messages or
 * `--seconds` have passed. Every message of a tick carries the same timestamp: a short tick gives a smoother
 * arrival (a live feed), a long one bursts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { ConfigError } from '../../core/errors.js';
import { packageRoot } from '../../core/paths.js';
import { createKafkaClient } from '../kafka/client.js';
import { ensureTopic } from '../kafka/connect.js';
import { parseKafkaUri } from '../kafka/uri.js';

/** Options of {@link feedCommand} (strings from the command line). */
export interface FeedFlags {
  to: string;
  keys?: string;
  rate?: string;
  count?: string;
  seconds?: string;
  /** Milliseconds between sends. @default 100 */
  tickMs?: string;
  texts?: string;
  json?: boolean;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new ConfigError(`--${name}: expected a positive number, got "${value}"`);
  return n;
}

/** Texts to draw from: JSON lines with a `text` field, or plain lines. */
async function loadTexts(path: string): Promise<string[]> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim());
  const texts = lines.map((line) => {
    try {
      const parsed = JSON.parse(line) as { text?: unknown };
      return typeof parsed.text === 'string' ? parsed.text : line;
    } catch {
      return line;
    }
  });
  if (texts.length === 0) throw new ConfigError(`--texts ${path}: no texts in it`);
  return texts;
}

/** Runs the generator; resolves to the exit code. */
export async function feedCommand(flags: FeedFlags): Promise<number> {
  const keys = positive('keys', flags.keys, 1000);
  const rate = positive('rate', flags.rate, 1000);
  const count = flags.count === undefined ? Number.POSITIVE_INFINITY : positive('count', flags.count, 0);
  const seconds =
    flags.seconds === undefined ? Number.POSITIVE_INFINITY : positive('seconds', flags.seconds, 0);
  const tickMs = positive('tick-ms', flags.tickMs, 100);
  if (!Number.isFinite(count) && !Number.isFinite(seconds))
    throw new ConfigError('feed needs --count N or --seconds S');
  const texts = await loadTexts(flags.texts ?? join(packageRoot(), 'examples', 'demo-feed.jsonl'));
  const target = parseKafkaUri(flags.to);
  const kafka = createKafkaClient(target.connection);
  await ensureTopic(kafka, target.topic, target.partitions);
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  let sent = 0;
  try {
    // Each tick sends what the rate allows since the start (catching up after a slow send).
    while (!stop && sent < count && (performance.now() - started) / 1000 < seconds) {
      const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate)) - sent;
      if (due > 0) {
        const messages = Array.from({ length: due }, (_, i) => {
          const n = sent + i;
          return {
            key: `session-${n % keys}`,
            value: JSON.stringify({ text: texts[n % texts.length], id: String(n) }),
          };
        });
        await producer.send({ topic: target.topic, messages, acks: -1 });
        sent += due;
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.disconnect();
  }
  const elapsed = (performance.now() - started) / 1000;
  const summary = {
    sent,
    seconds: Number(elapsed.toFixed(3)),
    rate_per_s: Math.round(sent / elapsed),
    keys,
    topic: target.topic,
  };
  process.stdout.write(
    flags.json
      ? `${JSON.stringify(summary)}\n`
      : `sent ${sent} messages over ${keys} keys in ${summary.seconds} s (${summary.rate_per_s}/s) to ${target.topic}\n`,
  );
  return 0;
}
