/**
 * Entry for `bench/run.sh` (and anyone without a build): `node --import tsx bench/cli.ts kernel|pipeline|memory
 * [--flag value…]`, the same commands as `rnnstream bench …` with the same flags (bench/commands.ts).
 */
import { Command } from 'commander';
import { registerBenchCommands } from './commands.js';
import { reportingMistakes, runMain } from './flags.js';

/** Runs one bench command; resolves to the exit code. A mistake in the arguments is a ConfigError. */
export async function benchMain(argv: readonly string[]): Promise<number> {
  const program = reportingMistakes(
    new Command('bench/cli.ts').description('rnnstream benchmarks'),
    'use a bench: kernel, pipeline or memory (--help lists their flags)',
  );
  registerBenchCommands(program);
  await program.parseAsync([...argv], { from: 'user' });
  return Number(process.exitCode ?? 0);
}

if (import.meta.url === `file://${process.argv[1]}`) runMain(() => benchMain(process.argv.slice(2)));
