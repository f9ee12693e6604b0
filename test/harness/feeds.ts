/**
 * Seeded inputs for tests of the worker: feeds of JSON messages over the tiny model's vocabulary, keyed
 * streams in per-key order, and ways to produce them (all at once, or while a condition holds).
 */

import type { SourceRecord } from '../../core/contracts.js';
import { seededRandom } from '../../model/verify.js';
import { TINY_VOCAB } from '../fixtures/tinyModel.js';
import { type ConsumedMessage, type ProduceMessage, produce } from './kafka.js';

/** One input message of a seeded feed. */
export interface FeedMessage {
  key: string;
  value: string;
}

/** Options of {@link makeFeed}. */
export interface FeedOptions {
  messages: number;
  keys: number;
  /** @default 1 */
  seed?: number;
  /** Tokens per message, inclusive range. @default [5, 10] */
  tokens?: [number, number];
  /** Key names: `${keyPrefix}${i}`. @default 'key-' */
  keyPrefix?: string;
}

/**
 * A seeded feed of JSON messages `{"text": …}` over `keys` keys, every key used at least once, texts of
 * 5–10 words of the tiny model's vocabulary (so every token is known and outputs vary).
 *
 * @example const feed = makeFeed({ messages: 20_000, keys: 1_000, seed: 7 });
 */
export function makeFeed(options: FeedOptions): FeedMessage[] {
  const { messages, keys, seed = 1, tokens = [5, 10], keyPrefix = 'key-' } = options;
  if (messages < keys) throw new RangeError(`makeFeed: ${messages} messages cannot cover ${keys} keys`);
  const random = seededRandom(seed);
  const words = TINY_VOCAB.slice(2);
  const feed: FeedMessage[] = [];
  for (let i = 0; i < messages; i++) {
    const k = i < keys ? i : Math.floor(random() * keys);
    const n = tokens[0] + Math.floor(random() * (tokens[1] - tokens[0] + 1));
    const text = Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
    feed.push({ key: `${keyPrefix}${k}`, value: JSON.stringify({ text }) });
  }
  return feed;
}

/**
 * Produces `messages` in chunks (each one request, acks=all), in order, so per-key order is array order.
 */
export async function produceMany(
  brokers: string[],
  topic: string,
  messages: readonly FeedMessage[],
  chunk = 4_000,
): Promise<void> {
  for (let at = 0; at < messages.length; at += chunk) {
    await produce(brokers, topic, messages.slice(at, at + chunk), { timeoutMs: 60_000 });
  }
}

/** The consumed input as source records (what the worker saw), for a reference pass. */
export function toSourceRecords(consumed: readonly ConsumedMessage[]): SourceRecord[] {
  return consumed.map((m) => ({
    key: m.key === null ? null : Buffer.from(m.key),
    value: m.rawValue,
    source: { topic: m.topic, partition: m.partition, offset: m.offset },
  }));
}

/** One input message of a generated keyed stream, in production order. */
export interface KeyedInput {
  key: string;
  text: string;
  /** Index of this message within its key's sequence. */
  index: number;
}

/** Options of {@link keyedInputs}. */
export interface KeyedInputOptions {
  /** Distinct keys. */
  keys: number;
  /** Messages per key. */
  perKey: number;
  /** @default 1 */
  seed?: number;
  /** Words per message: between 1 and this. @default 8 */
  maxWords?: number;
  /** Key names: `${keyPrefix}${i}`. @default 'key-' */
  keyPrefix?: string;
}

/**
 * A deterministic stream of `keys × perKey` messages: keys interleaved at random, each key's messages
 * in sequence order, texts of known words (and the odd unknown one) from the tiny model's vocabulary.
 */
export function keyedInputs(options: KeyedInputOptions): KeyedInput[] {
  const { keys, perKey, seed = 1, maxWords = 8, keyPrefix = 'key-' } = options;
  const random = seededRandom(seed);
  const words = [...TINY_VOCAB.slice(2), 'zebra', 'quantum'];
  const next = new Array<number>(keys).fill(0);
  const out: KeyedInput[] = [];
  const open = Array.from({ length: keys }, (_, i) => i);
  while (open.length > 0) {
    const pick = Math.floor(random() * open.length);
    const k = open[pick];
    const count = 1 + Math.floor(random() * maxWords);
    const text = Array.from({ length: count }, () => words[Math.floor(random() * words.length)]).join(' ');
    out.push({ key: `${keyPrefix}${k}`, text, index: next[k] });
    next[k]++;
    if (next[k] === perKey) open.splice(pick, 1);
  }
  return out;
}

/** Kafka messages carrying `inputs` as the JSON input contract. */
export function jsonMessages(inputs: readonly KeyedInput[]): FeedMessage[] {
  return inputs.map((input) => ({ key: input.key, value: JSON.stringify({ text: input.text }) }));
}

/** Options of {@link feedWhile}. */
export interface FeedWhileOptions {
  /** Messages per produce request. @default 5 */
  chunk?: number;
  /** Messages kept back for later (never fed here). @default 0 */
  reserve?: number;
}

/**
 * Produces `messages` in small requests, one after another, for as long as `keepGoing()` holds (at least
 * one request), keeping the last `reserve` back; resolves to how many were produced. Lets a test stop a
 * worker while its input is still arriving, then produce the rest (`messages.slice(fed)`).
 */
export async function feedWhile(
  brokers: string[],
  topic: string,
  messages: readonly ProduceMessage[],
  keepGoing: () => boolean,
  options: FeedWhileOptions = {},
): Promise<number> {
  const { chunk = 5, reserve = 0 } = options;
  const limit = Math.max(0, messages.length - reserve);
  let fed = 0;
  do {
    const next = messages.slice(fed, Math.min(fed + chunk, limit));
    if (next.length === 0) break;
    await produce(brokers, topic, [...next]);
    fed += next.length;
  } while (keepGoing());
  return fed;
}
