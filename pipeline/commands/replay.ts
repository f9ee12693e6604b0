/**
 * `rnnstream replay`: reprocess a topic range or files through the model into a fresh state namespace
 * (see pipeline/replay/replay.ts). Exit codes: 0 done, 1 failed, 2 bad command line or config,
 * 3 interrupted (SIGINT/SIGTERM: re-run with the same `--namespace` to resume).
 */
import type { Server } from 'node:http';
import type { Command } from 'commander';
import type { ReplayRequest } from '../replay/replay.js';

/** Exit code of a replay stopped by a signal before its end (resumable). */
export const EXIT_INTERRUPTED = 3;

const REPLAY_FLAGS = [
  'files',
  'fromBeginning',
  'fromOffset',
  'fromTime',
  'toEnd',
  'promote',
  'namespace',
] as const;

/** Runs a replay; resolves to the process exit code. */
export async function replayCommand(flags: Record<string, unknown>): Promise<number> {
  const { config: configFile, ...rest } = flags as { config?: string } & Record<string, unknown>;
  const request: ReplayRequest = {};
  const runFlags: Record<string, unknown> = { ...rest };
  for (const key of REPLAY_FLAGS) {
    if (runFlags[key] !== undefined) (request as Record<string, unknown>)[key] = runFlags[key];
    delete runFlags[key];
  }
  // Loaded here, not at the top: the CLI registers `replay` without loading the model code.
  const [{ createLogger }, { PipelineMetrics, serveMetrics }, { resolveReplayConfig, startReplay }] =
    await Promise.all([import('../logger.js'), import('../metrics.js'), import('../replay/replay.js')]);
  const config = resolveReplayConfig(runFlags, process.env, configFile);
  const log = createLogger(config.logLevel).child({ ns: 'replay' });
  const metrics = config.metricsPort === undefined ? undefined : new PipelineMetrics();
  const replay = await startReplay({ config, request, log, metrics });
  let server: Server | undefined;
  if (metrics && config.metricsPort !== undefined) {
    log.info({ port: config.metricsPort }, 'serving /metrics, /healthz, /readyz');
    server = await serveMetrics(
      metrics,
      { alive: () => replay.alive(), ready: () => replay.ready() },
      config.metricsPort,
    );
  }
  let stopping: NodeJS.Timeout | undefined;
  const onSignal = (signal: string) => {
    if (stopping) return;
    log.info({ signal }, 'signal received: draining, then checkpointing');
    stopping = setTimeout(() => {
      log.error(
        { timeoutMs: config.shutdownTimeoutMs },
        'drain timed out: exiting (the checkpoint keeps what was done)',
      );
      process.exit(EXIT_INTERRUPTED);
    }, config.shutdownTimeoutMs);
    stopping.unref();
    void replay.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await replay.done;
    if (!result.completed) return EXIT_INTERRUPTED;
    return 0;
  } finally {
    if (stopping) clearTimeout(stopping);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    server?.close();
  }
}

/**
 * Adds `replay` to the CLI, with the run options (`addRunOptions` of pipeline/cli.ts) and its own.
 * @example registerReplayCommand(program, addRunOptions);
 */
export function registerReplayCommand(program: Command, addRunOptions: (cmd: Command) => Command): Command {
  return addRunOptions(
    program
      .command('replay')
      .description(
        'reprocess a Kafka topic range or files through the model into a fresh state namespace (resumable, with progress)',
      ),
  )
    .option(
      '--files <globs...>',
      'input files or globs: JSON lines, key<TAB>text lines, or .csv with key,text columns',
    )
    .option('--from-beginning', 'Kafka: start at the earliest offsets (the default)')
    .option(
      '--from-offset <list>',
      'Kafka: start offsets PARTITION:OFFSET,… (partitions not listed are not read)',
    )
    .option(
      '--from-time <iso>',
      'Kafka: start at the first record at or after this time (ISO 8601 or epoch ms)',
    )
    .option('--to-end', 'Kafka: stop at the end offsets taken at start (the default)')
    .option('--no-to-end', 'Kafka: keep following the topic after its current end')
    .option(
      '--namespace <name>',
      'replay name: states go to <prefix base>~<name>:, and the same name resumes it',
    )
    .option(
      '--promote',
      'once complete, make the rebuilt namespace the one live workers read (atomic pointer switch)',
    )
    .action(async (flags: Record<string, unknown>) => {
      process.exitCode = await replayCommand(flags);
    });
}
