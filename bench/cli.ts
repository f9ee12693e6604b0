/**
 * Entry for `bench/run.sh` (and anyone without a build): `node --import tsx bench/cli.ts kernel|pipeline|memory
 * [--flag value…]`, the same commands as `rnnstream bench …` with the same flags.
 */
import { ConfigError } from '../core/errors.js';
import { type Flags, runMain } from './flags.js';

/** Parses `--name value` / `--flag` pairs into camelCase flags, as commander would. */
export function parseArgs(args: readonly string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (flags are --name value)`);
    const name = arg.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) flags[name] = true;
    else flags[name] = args[++i];
  }
  return flags;
}

/** Runs one bench command; resolves to the exit code. */
export async function benchMain(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = parseArgs(rest);
  switch (command) {
    case 'kernel':
      return (await import('./kernel.js')).benchKernelCommand(flags);
    case 'pipeline':
      return (await import('./pipeline.js')).benchPipelineCommand(flags);
    case 'memory':
      return (await import('./memory.js')).benchMemoryCommand(flags);
    default:
      throw new ConfigError(`unknown bench "${command ?? ''}": use kernel, pipeline or memory`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) runMain(() => benchMain(process.argv.slice(2)));
