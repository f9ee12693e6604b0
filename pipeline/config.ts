/**
 * The run configuration: one zod schema, filled from (highest first) command-line flags, `RNNSTREAM_…`
 * environment variables and an optional JSON config file, then defaults. Every error names the option.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { BACKEND_NAMES } from '../model/backendNames.js';

const positiveInt = z.coerce.number().int().positive();
const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
]);

/** Every option of `run` (and `replay`), with its default. Keys are camelCase; env names are `RNNSTREAM_` + UPPER_SNAKE. */
export const runConfigSchema = z
  .object({
    /** Input URI: `file:PATH`, `-` (stdin), `kafka://HOST:PORT/TOPIC?group=G`. */
    in: z.string().min(1).default('-'),
    /** Output URI: `file:PATH`, `-` (stdout), `kafka://HOST:PORT/TOPIC`. */
    out: z.string().min(1).default('-'),
    /** Dead-letter URI (file or kafka); default: `file:` beside nothing — stderr JSON lines. */
    dlq: z.string().min(1).optional(),
    /** State URI: `memory:`, `redis://…`, `rediss://…`, `redis+cluster://…`. */
    state: z.string().min(1).default('memory:'),
    /** Model package folder; default: the shipped model. */
    model: z.string().min(1).optional(),
    backend: z.enum(BACKEND_NAMES).default('auto'),
    /** What each output carries: `sentiment`, `embedding`, or both. */
    emit: z
      .string()
      .default('sentiment')
      .transform((v, ctx) => {
        const parts = v
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
        for (const p of parts) {
          if (p !== 'sentiment' && p !== 'embedding' && p !== 'embedding-base64') {
            ctx.addIssue({
              code: 'custom',
              message: `unknown emit value "${p}" (use sentiment, embedding, embedding-base64)`,
            });
          }
        }
        return {
          sentiment: parts.includes('sentiment'),
          embedding: parts.includes('embedding-base64') ? ('base64' as const) : parts.includes('embedding'),
        };
      }),
    inputFormat: z.enum(['json', 'text']).default('json'),
    maxBatchRows: positiveInt.default(1024),
    maxBatchTokens: positiveInt.default(16384),
    maxDelayMs: z.coerce.number().min(0).default(5),
    /** Batches between the batcher and their outputs written; a due batch waits (and keeps filling) beyond it. */
    maxBatchesInFlight: positiveInt.default(3),
    /**
     * Latency goal, ms from a message's arrival to its output durable (p99): the batcher cuts batches from
     * costs it learns while running so as to meet it; 0 = none (batches cut by the limits only).
     */
    targetLatencyMs: z.coerce.number().min(0).default(250),
    onBadState: z.enum(['reset', 'dlq', 'fail']).default('reset'),
    /** Largest message value (bytes). */
    maxValueBytes: positiveInt.default(64 * 1024),
    /** Largest key (bytes). */
    maxKeyBytes: positiveInt.default(1024),
    /** Most tokens of one message; more is a dead letter. */
    maxTokens: positiveInt.default(2048),
    /** Messages read and not yet committed before the source pauses. */
    maxInFlight: positiveInt.default(10_000),
    /** Engine worker threads, each its own backend, over disjoint rows of a batch (wasm uses one core each). */
    engineWorkers: positiveInt.default(availableParallelism()),
    /** State records as float16 (half the bytes; error ≤ 2.5e-4 on tanh-range values) or float32. */
    stateDtype: z.enum(['float32', 'float16']).default('float32'),
    /** Kafka transactions: outputs and offsets commit together. */
    exactlyOnce: bool.default(false),
    /** Serve /metrics, /healthz, /readyz on this port. */
    metricsPort: z.coerce.number().int().min(0).max(65535).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Longest SIGTERM drain before exiting non-zero (nothing is committed past what was drained). */
    shutdownTimeoutMs: positiveInt.default(30_000),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

/** The config keys, for env names and the manifests test. */
export const RUN_CONFIG_KEYS = Object.keys(runConfigSchema.shape) as (keyof RunConfigInput)[];

/** `maxBatchRows` → `RNNSTREAM_MAX_BATCH_ROWS`. */
export function envName(key: string): string {
  return `RNNSTREAM_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** Options whose values are secrets (masked by `config --print`, never logged). */
export const SECRET_PATTERN = /(:\/\/[^:/@]*:)([^@]*)@/;

/** Replaces a URI's password with `***`. */
export function maskSecrets(value: string): string {
  return value.replace(SECRET_PATTERN, '$1***@');
}

/**
 * Resolves the effective config: flags over env over file over defaults.
 * @example resolveRunConfig({ in: 'file:feed.jsonl' }, process.env)
 */
export function resolveRunConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  configFile?: string,
): RunConfig {
  let fromFile: Record<string, unknown> = {};
  const file = configFile ?? env.RNNSTREAM_CONFIG;
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`--config ${file}: cannot read it as JSON (${(error as Error).message})`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const key of RUN_CONFIG_KEYS) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const definedFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const parsed = runConfigSchema.safeParse({ ...fromFile, ...fromEnv, ...definedFlags });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? '');
    const flag = key ? `--${key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}` : 'config';
    const where = key ? ` (or ${envName(key)})` : '';
    throw new ConfigError(`${flag}${where}: ${issue.message}`);
  }
  return parsed.data;
}
