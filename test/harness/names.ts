/**
 * Names unique to one test, so that tests sharing one broker and one Redis never see each other's data.
 */
import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A topic name or Redis key prefix unique to this call: `prefix-<pid>-<time>-<n>-<random>`, using only the
 * characters Kafka allows in topic names (`[a-zA-Z0-9._-]`).
 *
 * @example
 * const topic = uniqueName('harness-in'); // 'harness-in-4242-m3x9k2-1-a1b2c3'
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  const safePrefix = prefix.replace(/[^a-zA-Z0-9._-]/g, '-') || 'test';
  // pid and time separate concurrent test processes and reruns; the counter separates calls in one process.
  const name = `${safePrefix}-${process.pid}-${Date.now().toString(36)}-${counter}-${randomBytes(3).toString('hex')}`;
  // Kafka caps topic names at 249 characters; keep the unique tail.
  return name.length <= 249 ? name : name.slice(name.length - 249);
}
