/**
 * Small helpers shared by the `rnnstream bench …` commands and the bench scripts: parsing and reading flags
 * (commander hands them over as strings) with messages that name the option, and printing a two-column table.
 */
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';

/** Flags as commander hands them over: option name (camelCase) → string, boolean or undefined. */
export type Flags = Record<string, unknown>;

/**
 * Makes a bench script's command report a mistake (an unknown flag or command, a missing value, a stray
 * argument) as one {@link ConfigError} line, which {@link runMain} prints, instead of printing it itself;
 * `--help` prints the help and exits 0. Apply it before adding sub-commands: they inherit it.
 * @param usage the message when a command is needed and none was given
 */
export function reportingMistakes(command: Command, usage = 'see --help'): Command {
  return command
    .exitOverride((error) => {
      if (error.exitCode === 0) process.exit(0);
      const message = error.code === 'commander.help' ? usage : error.message.replace(/^error: /, '');
      throw new ConfigError(message.replace(/\s*\n\s*/g, ' '));
    })
    .configureOutput({ writeErr: () => {} });
}

/**
 * A bench script's flags from its arguments (after the script's name), parsed by its command.
 * @example const flags = parseFlags(new Command('naive').option('--count <n>'), ['--count', '5']);
 */
export function parseFlags(command: Command, argv: readonly string[]): Flags {
  reportingMistakes(command).parse([...argv], { from: 'user' });
  return command.opts();
}

/**
 * A positive number flag (integer unless `integer: false`), or its default when absent.
 * @example const batch = numberFlag(flags, 'batch', 256);
 */
export function numberFlag(
  flags: Flags,
  name: string,
  fallback: number,
  { integer = true, min = 1 } = {},
): number {
  const raw = flags[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    const what = integer ? `an integer ≥ ${min}` : `a number ≥ ${min}`;
    throw new ConfigError(`--${kebab(name)} must be ${what}, got "${String(raw)}"`);
  }
  return value;
}

/**
 * A flag restricted to a few values, or its default when absent.
 * @example const cell = choiceFlag(flags, 'cell', ['rnn', 'lstm', 'gru'] as const, 'gru');
 */
export function choiceFlag<T extends string>(
  flags: Flags,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = flags[name];
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (!choices.includes(raw as T)) {
    throw new ConfigError(`--${kebab(name)} must be one of ${choices.join(', ')}, got "${String(raw)}"`);
  }
  return raw as T;
}

/** `maxBatchRows` → `max-batch-rows`, for messages that name the flag as the user typed it. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Formats `label: value` lines with the labels aligned, numbers with thousands separators.
 * @example formatTable({ tokens_per_s: 123456.7, backend: 'wasm' }) // "tokens_per_s  123,457\nbackend       wasm"
 */
export function formatTable(fields: Record<string, unknown>): string {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries
    .map(([k, v]) => {
      const shown =
        typeof v === 'number'
          ? v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : 3 })
          : typeof v === 'object'
            ? JSON.stringify(v)
            : String(v);
      return `${k.padEnd(width)}  ${shown}`;
    })
    .join('\n');
}

/** Prints a result as a table, and with `--json` also as one JSON line last (what scripts parse). */
export function printResult(result: object, json: boolean): void {
  process.stdout.write(`${formatTable(result as Record<string, unknown>)}\n`);
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Runs a bench script's main when the file is executed directly, and exits with its code: a
 * {@link ConfigError} prints its message and exits 2, anything else its stack and exits 1.
 * @example if (import.meta.url === `file://${process.argv[1]}`) runMain(() => main(process.argv.slice(2)));
 */
export function runMain(main: () => Promise<number>): void {
  Promise.resolve()
    .then(main)
    .then(
      (code) => process.exit(code),
      (error: unknown) => {
        const config = error instanceof ConfigError;
        process.stderr.write(
          `${config ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`,
        );
        process.exit(config ? 2 : 1);
      },
    );
}
