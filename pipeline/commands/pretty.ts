/**
 * `rnnstream pretty`: output JSON lines (stdin) → one aligned line per message, for `make demo` and humans.
 */
import { createInterface } from 'node:readline';
import type { OutputMessage } from '../../core/contracts.js';

/** Formats one output message as a table line. */
export function formatOutput(out: OutputMessage): string {
  const label = out.sentiment ? `${out.sentiment.label.padEnd(8)} ${out.sentiment.score.toFixed(3)}` : '-';
  const bar = out.sentiment
    ? bar10(out.sentiment.label === 'positive' ? out.sentiment.score : 1 - out.sentiment.score)
    : '';
  const end = out.end ? '  (end)' : '';
  return `${out.key.slice(0, 16).padEnd(16)} ${String(out.tokens).padStart(4)} ${String(out.totalTokens).padStart(6)}  ${label}  ${bar}${end}`;
}

/** Ten-cell bar of P(positive): negative at the left, positive at the right. */
function bar10(p: number): string {
  const filled = Math.max(0, Math.min(10, Math.round(p * 10)));
  return `[${'#'.repeat(filled)}${'.'.repeat(10 - filled)}]`;
}

/** Reads stdin to its end; prints a header and one line per output. */
export async function prettyCommand(): Promise<number> {
  process.stdout.write(
    `${'key'.padEnd(16)} ${'tok'.padStart(4)} ${'total'.padStart(6)}  ${'label'.padEnd(8)} score  P(positive)\n`,
  );
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (!line.trim()) continue;
    try {
      process.stdout.write(`${formatOutput(JSON.parse(line) as OutputMessage)}\n`);
    } catch {
      process.stdout.write(`${line}\n`);
    }
  }
  return 0;
}
