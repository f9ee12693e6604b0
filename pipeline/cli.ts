/**
 * The `rnnstream` command line (commander). Each command is a thin shell over a library function, so
 * everything a command does is testable without spawning it. A bad command line or config is one line
 * on stderr naming the option, exit code 2.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, RnnstreamError } from '../core/errors.js';
import { BACKEND_HELP, BACKEND_NAMES } from '../model/backendNames.js';
import { registerReplayCommand } from './commands/replay.js';
import { errorLine } from './logger.js';

const program = new Command()
  .name('rnnstream')
  .description(
    'Stateful, batched, incremental RNN inference over keyed text streams (Kafka, files) with per-key state in Redis.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

/** Options shared by `run` and `replay`, mapped 1:1 to the config schema (pipeline/config.ts). */
function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--in <uri>', 'input: file:PATH, - (stdin), kafka://HOST:PORT/TOPIC?group=G')
    .option('--out <uri>', 'output: file:PATH, - (stdout), kafka://HOST:PORT/TOPIC')
    .option(
      '--dlq <uri>',
      'dead letters: file:PATH or kafka://HOST:PORT/TOPIC (default: stderr as JSON lines)',
    )
    .option(
      '--state <uri>',
      'state store: memory:, redis://[user:pass@]HOST:PORT/DB?prefix=P, rediss://…, redis+cluster://…',
    )
    .option('--model <dir>', 'model package folder (default: the shipped model in models/)')
    .addOption(new Option('--backend <name>', BACKEND_HELP).choices(BACKEND_NAMES))
    .option('--emit <list>', 'what outputs carry: sentiment,embedding[,embedding-base64]')
    .addOption(
      new Option('--input-format <fmt>', 'message values: json ({"text","end"?,"id"?}) or text').choices([
        'json',
        'text',
      ]),
    )
    .option('--max-batch-rows <n>', 'rows (keys) per micro-batch')
    .option('--max-batch-tokens <n>', 'tokens per micro-batch')
    .option('--max-delay-ms <n>', 'longest wait for a micro-batch to fill')
    .option(
      '--target-latency-ms <n>',
      'latency goal (p99, arrival → output durable): batches are cut from learned costs to meet it; 0 = none',
    )
    .option(
      '--max-batches-in-flight <n>',
      'batches being loaded, stepped, stored or written out at once; a due batch waits and keeps filling',
    )
    .addOption(
      new Option('--on-bad-state <policy>', 'a stored state that fails its checks').choices([
        'reset',
        'dlq',
        'fail',
      ]),
    )
    .option('--max-value-bytes <n>', 'largest message value')
    .option('--max-key-bytes <n>', 'largest key')
    .option('--max-tokens <n>', 'most tokens per message')
    .option('--max-in-flight <n>', 'messages read and not yet committed before the source pauses')
    .option('--engine-workers <n>', 'engine worker threads over disjoint rows of a batch')
    .addOption(new Option('--state-dtype <dtype>', 'state record precision').choices(['float32', 'float16']))
    .option('--exactly-once', 'Kafka transactions: outputs and offsets commit atomically')
    .option('--metrics-port <n>', 'serve /metrics, /healthz, /readyz on this port')
    .addOption(
      new Option('--log-level <level>', 'log level').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .option('--shutdown-timeout-ms <n>', 'longest drain on SIGTERM')
    .option('--config <file>', 'JSON config file (flags override env RNNSTREAM_… which overrides the file)');
}

addRunOptions(
  program
    .command('run')
    .description('stream: read messages, score them per key incrementally, write outputs'),
).action(async (flags: Record<string, unknown>) => {
  const { runCommand } = await import('./commands/run.js');
  process.exitCode = await runCommand(flags);
});

registerReplayCommand(program, addRunOptions);

program
  .command('score')
  .description('score one or more whole texts with the model and print the results')
  .argument('<text...>', 'texts to score')
  .option('--model <dir>', 'model package folder (default: the shipped model)')
  .addOption(new Option('--backend <name>', BACKEND_HELP).choices(BACKEND_NAMES).default('auto'))
  .option('--embedding', 'also print the embedding')
  .action(async (texts: string[], flags: { model?: string; backend: string; embedding?: boolean }) => {
    const { scoreCommand } = await import('./commands/score.js');
    process.exitCode = await scoreCommand(texts, flags);
  });

program
  .command('train')
  .description('train a model package (Embedding → stacked RNN/LSTM/GRU → Dense) on labelled texts')
  .requiredOption('--data <files...>', 'CSV/TSV/JSON-lines files with a text and a label column')
  .requiredOption('--out <dir>', 'output model package folder')
  .addOption(new Option('--cell <cell>', 'recurrent cell').choices(['rnn', 'lstm', 'gru']).default('gru'))
  .option('--layers <n>', 'stacked layers (default 1)')
  .option('--hidden <n>', 'hidden size (default 128)')
  .option('--members <n>', 'an ensemble of n cells of hidden/n units, folded into one (default 1)')
  .option('--separate-inputs', 'with --members: each member reads its own embed/n input columns')
  .option('--embed <n>', 'embedding size (default 64)')
  .option('--epochs <n>', 'most epochs; early stopping on validation (default 12)')
  .option('--seed <n>', 'seed of every random choice (default 42)')
  .option('--text-column <name>', 'text column (default text)')
  .option('--label-column <name>', 'label column (default label)')
  .option('--labels <list>', 'explicit label set, comma-separated (softmax head in this order)')
  .option('--batch-size <n>', 'batch size (default 64)')
  .option('--learning-rate <x>', 'Adam learning rate (default 0.003)')
  .option('--clip-norm <x>', 'global gradient norm clip (default 5)')
  .addOption(new Option('--backend <name>', 'training backend').choices(['wasm', 'cpu']))
  .option(
    '--glove <dir>',
    "start from GloVe vectors and lexicon priors in make data's cache (e.g. data/cache)",
  )
  .addOption(new Option('--split <rules>', 'tokenizer rules (default words)').choices(['words', 'social']))
  .option('--max-vocab <n>', 'largest vocabulary (default 20000)')
  .option(
    '--teacher <dirs...>',
    'distil from these model packages (same data and vocabulary options): their mean probabilities are soft targets',
  )
  .option('--label-weight <x>', "with --teacher: the label's share of the loss, 0 to 1 (default 0.5)")
  .action(async (flags: import('./commands/trainEval.js').TrainFlags) => {
    const { trainCommand } = await import('./commands/trainEval.js');
    process.exitCode = await trainCommand(flags);
  });

program
  .command('eval')
  .description('accuracy, F1, ROC-AUC of a model on labelled texts')
  .requiredOption('--data <files...>', 'CSV/TSV/JSON-lines files with a text and a label column')
  .option('--model <dir>', 'model package folder (default: the shipped model)')
  .option('--json', 'last line is {"accuracy","f1","auc","n"}')
  .option('--lexicons', 'also score the rows with the VADER, AFINN and wink lexicons (baselines)')
  .addOption(
    new Option('--split <split>', 'only one split of the stable hash split').choices([
      'train',
      'val',
      'test',
      'all',
    ]),
  )
  .option('--text-column <name>', 'text column (default text)')
  .option('--label-column <name>', 'label column (default label)')
  .addOption(new Option('--backend <name>', BACKEND_HELP).choices(BACKEND_NAMES))
  .action(async (flags: import('./commands/trainEval.js').EvalFlags) => {
    const { evalCommand } = await import('./commands/trainEval.js');
    process.exitCode = await evalCommand(flags);
  });

program
  .command('verify')
  .description('check the cell math against reference vectors (PyTorch) fed whole and in random chunks')
  .requiredOption('--reference <dirs...>', 'reference case folders (weights.safetensors + case.json)')
  .addOption(new Option('--backend <name>', BACKEND_HELP).choices(BACKEND_NAMES).default('auto'))
  .option('--seed <n>', 'seed of the random chunking', '1')
  .action(async (flags: { reference: string[]; backend: string; seed: string }) => {
    const { verifyCommand } = await import('./commands/verify.js');
    process.exitCode = await verifyCommand(flags);
  });

addRunOptions(
  program
    .command('doctor')
    .description(
      'check each part a run would use (brokers, topics, Redis persistence, model, backend) and say what is wrong',
    ),
).action(async (flags: Record<string, unknown>) => {
  const { doctorCommand } = await import('./commands/doctor.js');
  process.exitCode = await doctorCommand(flags);
});

addRunOptions(program.command('config').description('show the effective run configuration (secrets masked)'))
  .option('--print', 'print it as JSON (the default)')
  .action(async (flags: Record<string, unknown>) => {
    const { configCommand } = await import('./commands/config.js');
    process.exitCode = await configCommand(flags);
  });

const state = program.command('state').description('tools over a Redis state namespace');
state
  .command('inspect')
  .description('decode the state record of one key')
  .argument('<key>', 'the sequence key')
  .requiredOption('--state <uri>', 'redis://HOST:PORT/DB?prefix=P')
  .action(async (key: string, flags: { state: string }) => {
    const { stateInspectCommand } = await import('./commands/state.js');
    process.exitCode = await stateInspectCommand(key, flags);
  });
state
  .command('drop')
  .description('delete every key of a namespace')
  .requiredOption('--state <uri>', 'redis://HOST:PORT/DB?prefix=P')
  .option('--prefix <p>', "namespace to drop (default: the URI's prefix)")
  .option('--yes', 'confirm')
  .action(async (flags: { state: string; prefix?: string; yes?: boolean }) => {
    const { stateDropCommand } = await import('./commands/state.js');
    process.exitCode = await stateDropCommand(flags);
  });

const benchCommand = program
  .command('bench')
  .description('benchmarks: kernel, pipeline, memory (see BENCHMARKS.md)');

/**
 * Adds the bench sub-commands when the command line asks for them (`bench …`, `help bench`): they live in
 * bench/, and this is the CLI's one import of bench/, so other commands never load the benchmarks.
 */
async function addBenchCommandsIfAsked(argv: readonly string[]): Promise<void> {
  const [first, second] = argv.slice(2).filter((arg) => !arg.startsWith('-'));
  if (first !== 'bench' && !(first === 'help' && second === 'bench')) return;
  const { registerBenchCommands } = await import('../bench/commands.js');
  registerBenchCommands(benchCommand);
}

program
  .command('feed')
  .description('load generator: send keyed texts to a Kafka topic at a steady rate')
  .requiredOption('--to <uri>', 'kafka://HOST:PORT/TOPIC')
  .option('--keys <n>', 'distinct sequence keys (default 1000)')
  .option('--rate <n>', 'messages per second (default 1000)')
  .option('--count <n>', 'stop after this many messages')
  .option('--seconds <s>', 'stop after this long')
  .option('--tick-ms <n>', 'milliseconds between sends: short is a smooth feed, long bursts (default 100)')
  .option(
    '--texts <file>',
    'JSON lines with "text" (or plain lines) to draw from (default: examples/demo-feed.jsonl)',
  )
  .option('--json', 'print the summary as JSON')
  .action(async (flags: import('./commands/feed.js').FeedFlags) => {
    const { feedCommand } = await import('./commands/feed.js');
    process.exitCode = await feedCommand(flags);
  });

program
  .command('pretty')
  .description('read output JSON lines on stdin and print them as a readable table')
  .action(async () => {
    const { prettyCommand } = await import('./commands/pretty.js');
    process.exitCode = await prettyCommand();
  });

/** Parses and runs; maps errors to exit codes (2: usage/config, 1: failure). */
export async function main(argv: string[]): Promise<void> {
  try {
    await addBenchCommandsIfAsked(argv);
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`rnnstream: ${errorLine(error)}\n`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof RnnstreamError) {
      process.stderr.write(`rnnstream: ${errorLine(error)}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

await main(process.argv);
