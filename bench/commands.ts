/**
 * The `rnnstream bench …` sub-commands. `pipeline/cli.ts` imports this file only when the `bench` command
 * runs, so nothing else of the CLI loads the benchmarks (and `pipeline/` depends on `bench/` in that one
 * place). The implementations are imported only when their own command runs.
 */
import { type Command, Option } from 'commander';
import { BACKEND_HELP, BACKEND_NAMES } from '../model/backendNames.js';

/** A command action that imports its bench only when it runs; the bench's exit code becomes the process's. */
function lazy(load: () => Promise<(flags: never) => Promise<number>>) {
  return async (flags: Record<string, unknown>): Promise<void> => {
    process.exitCode = await (await load())(flags as never);
  };
}

/** The `--backend` option, with the same choices and help as `run`'s. */
const backendOption = () => new Option('--backend <name>', BACKEND_HELP).choices(BACKEND_NAMES);

/**
 * Adds `kernel`, `pipeline` and `memory` to the `bench` command (of `rnnstream`, or of bench/cli.ts).
 * @example registerBenchCommands(program.command('bench'))
 */
export function registerBenchCommands(bench: Command): void {
  bench
    .command('kernel')
    .description('the batched incremental step alone')
    .option('--cell <cell>', 'rnn, lstm or gru')
    .option('--vocab <n>', 'vocabulary size')
    .option('--embed <n>', 'embedding size')
    .option('--hidden <n>', 'hidden size')
    .option('--layers <n>', 'stacked layers')
    .option('--batch <n>', 'rows per step call')
    .option('--steps <n>', 'tokens per row')
    .option('--seconds <s>', 'measuring time')
    .option('--seed <n>', 'weights and tokens seed')
    .option('--engine-workers <n>', 'engine worker threads over disjoint rows (default 1)')
    .option('--threads <n>', 'ONNX Runtime threads per session (default 1)')
    .option('--context <name>', 'label the point (e.g. pipeline: the kernel at the pipeline batch)')
    .addOption(
      new Option('--input-table <mode>', 'layer-0 projection table').choices(['auto', 'always', 'never']),
    )
    .addOption(backendOption())
    .option('--json', 'last line is a JSON object')
    .action(lazy(async () => (await import('./kernel.js')).benchKernelCommand));
  bench
    .command('pipeline')
    .description('the embedded pipeline end to end, micro-batched or one message at a time')
    .option('--keys <n>', 'active keys')
    .option('--messages <n>', 'messages in all')
    .addOption(new Option('--mode <mode>', 'batched or single').choices(['batched', 'single']))
    .option('--tokens-per-message <n>', 'tokens per message')
    .option('--model <dir>', 'auto | random | package folder')
    .option('--max-in-flight <n>', 'source budget')
    .option('--engine-workers <n>', 'engine worker threads (default 1)')
    .addOption(backendOption())
    .option('--json', 'last line is a JSON object')
    .action(lazy(async () => (await import('./pipeline.js')).benchPipelineCommand));
  bench
    .command('memory')
    .description('RSS with many active keys in the memory state store')
    .option('--keys <n>', 'active keys')
    .addOption(
      new Option('--via <how>', 'fill the store directly or through the pipeline').choices([
        'store',
        'pipeline',
      ]),
    )
    .option('--tokens-per-message <n>', 'tokens per message')
    .option('--model <dir>', 'model package folder')
    .addOption(backendOption())
    .option('--json', 'last line is a JSON object')
    .action(lazy(async () => (await import('./memory.js')).benchMemoryCommand));
}
