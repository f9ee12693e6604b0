/**
 * Start-up checks of the parts a run is built from (`--in`, `--out`, `--dlq`, `--state`, `--model`): each
 * becomes a {@link Finding} in plain words with the fix. `run` stops at the first error with one line
 * (exit code 2) before it loads anything; `rnnstream doctor` prints them all. Kafka and Redis modules are
 * imported only for their URIs, so the embedded mode loads neither.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { filePath } from './connect.js';

/** How bad a finding is: `error` stops a run; `warn` runs, but a guarantee is lost. */
export type Severity = 'ok' | 'warn' | 'error';

/** One thing a check found about one option. */
export interface Finding {
  /** The option it is about, e.g. `--in`. */
  option: string;
  /** The URI or path as given (secrets masked), or `''` when the URI did not parse. */
  target: string;
  severity: Severity;
  /** What was found, and for a problem the fix, in plain words. */
  message: string;
  /** Whether `run` logs it when it is a warning (not for the embedded defaults). @default true */
  logInRun?: boolean;
}

/** The URIs a run is given (the resolved config's fields). */
export interface RunParts {
  in: string;
  out: string;
  dlq?: string;
  state: string;
  model?: string;
}

/** The one line a finding makes: `--in file:/x: cannot read /x: no such file (…)`. */
export function findingLine(finding: Finding): string {
  return finding.target
    ? `${finding.option} ${finding.target}: ${finding.message}`
    : `${finding.option}: ${finding.message}`;
}

/**
 * Checks every part (in parallel) and returns the findings, in option order.
 *
 * @example
 * const bad = (await checkRunParts(config)).find((f) => f.severity === 'error');
 */
export async function checkRunParts(parts: RunParts): Promise<Finding[]> {
  const checks = [
    checkInput(parts.in),
    checkOutput(parts.out, '--out'),
    parts.dlq === undefined ? Promise.resolve([]) : checkOutput(parts.dlq, '--dlq'),
    checkState(parts.state),
    checkModelDir(parts.model),
  ];
  return (await Promise.all(checks)).flat();
}

/** Throws a {@link ConfigError} with the line of the first error (the start-up check of `run`). */
export function throwFirstError(findings: readonly Finding[]): void {
  const error = findings.find((f) => f.severity === 'error');
  if (error) throw new ConfigError(findingLine(error));
}

/** How each endpoint option is checked and worded. */
const ENDPOINTS = {
  '--in': {
    role: 'input',
    std: 'reads stdin',
    file: (path: string) => readableFile(path),
    fileOk: 'reads',
    fix: 'check the path, or read stdin with --in -',
    schemes: 'file:PATH, - for stdin, or kafka://HOST:PORT/TOPIC?group=G',
  },
  '--out': {
    role: 'output',
    std: 'writes stdout',
    file: (path: string) => writableFile(path),
    fileOk: 'writes',
    fix: 'create it, fix the path, or write to stdout with --out -',
    schemes: 'file:PATH, - for stdout, or kafka://HOST:PORT/TOPIC',
  },
  '--dlq': {
    role: 'output',
    std: 'writes stdout',
    file: (path: string) => writableFile(path),
    fileOk: 'writes',
    fix: 'create it, fix the path, or leave --dlq out for stderr',
    schemes: 'file:PATH or kafka://HOST:PORT/TOPIC',
  },
} as const;

/** `--in`: a readable file, stdin, or a reachable Kafka topic with a group. */
export function checkInput(uri: string): Promise<Finding[]> {
  return checkEndpoint('--in', uri);
}

/** `--out` or `--dlq`: a writable file, stdout, or a reachable Kafka broker. */
export function checkOutput(uri: string, option: '--out' | '--dlq'): Promise<Finding[]> {
  return checkEndpoint(option, uri);
}

async function checkEndpoint(option: keyof typeof ENDPOINTS, uri: string): Promise<Finding[]> {
  const spec = ENDPOINTS[option];
  const parsed = parse(option, () => filePath(uri));
  if (parsed.finding) return [parsed.finding];
  const path = parsed.value;
  const finding = (severity: Severity, message: string): Finding[] => [
    { option, target: uri, severity, message },
  ];
  if (path === '-') return finding('ok', spec.std);
  if (path !== undefined) {
    const problem = await spec.file(path);
    return problem ? finding('error', `${problem} (${spec.fix})`) : finding('ok', `${spec.fileOk} ${path}`);
  }
  if (isKafka(uri)) return checkKafka(option, uri, spec.role);
  return finding('error', `unsupported URI (use ${spec.schemes})`);
}

/** `--state`: memory (not durable), or a reachable Redis and whether it persists. */
export async function checkState(uri: string): Promise<Finding[]> {
  const option = '--state';
  const { parseStateUri, redactUri } = await import('./state/stateUri.js');
  const parsed = parse(option, () => parseStateUri(uri));
  if (parsed.finding) return [parsed.finding];
  const target = parsed.value;
  const shown = redactUri(uri);
  if (target.kind === 'memory') {
    return [
      {
        option,
        target: shown,
        severity: 'warn',
        logInRun: false,
        message:
          'state is in process memory: not durable (lost when the worker stops) and not shared between workers (use --state redis://HOST:PORT/DB?prefix=P)',
      },
    ];
  }
  const { isDurable, probeRedis } = await import('./state/probe.js');
  const probe = await probeRedis(target);
  const where = target.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (!probe.reachable) {
    return [
      {
        option,
        target: shown,
        severity: 'error',
        message: `cannot reach Redis at ${where} (${probe.reason}): is Redis running there? check host, port and password in the URI`,
      },
    ];
  }
  if (!probe.persistence) {
    return [
      {
        option,
        target: shown,
        severity: 'warn',
        message: `Redis answers, but its persistence settings could not be read (${probe.reason}): make sure AOF or RDB snapshots are on, or the state is not durable`,
      },
    ];
  }
  const { appendonly, save } = probe.persistence;
  if (!isDurable(probe.persistence)) {
    return [
      {
        option,
        target: shown,
        severity: 'warn',
        message: `state is not durable: Redis has neither AOF (appendonly ${appendonly}) nor RDB snapshots (save "${save}"), so a Redis restart loses every key's state (turn on appendonly yes, or set save rules)`,
      },
    ];
  }
  const kept = [appendonly === 'yes' ? 'AOF on' : '', save.trim() ? `RDB snapshots (save "${save}")` : '']
    .filter(Boolean)
    .join(' and ');
  return [
    { option, target: shown, severity: 'ok', message: `Redis answers at ${where}; persistence: ${kept}` },
  ];
}

/** `--model`: the folder exists (what it holds is checked when the model loads). */
export async function checkModelDir(dir: string | undefined): Promise<Finding[]> {
  if (dir === undefined) return [];
  const option = '--model';
  const fix =
    'give a model package folder (docs/MODEL_PACKAGE.md), or leave --model out for the shipped model';
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      return [
        { option, target: dir, severity: 'error', message: `is a file, not a model package folder (${fix})` },
      ];
    }
    return [{ option, target: dir, severity: 'ok', message: 'folder found' }];
  } catch (error) {
    return [
      { option, target: dir, severity: 'error', message: `${fileProblem(error, 'no such folder')} (${fix})` },
    ];
  }
}

async function checkKafka(option: string, uri: string, role: 'input' | 'output'): Promise<Finding[]> {
  const { parseKafkaUri, redactUri } = await import('./kafka/uri.js');
  const parsed = parse(option, () => parseKafkaUri(uri));
  if (parsed.finding) return [parsed.finding];
  const kafkaUri = parsed.value;
  const target = redactUri(uri);
  if (role === 'input' && !kafkaUri.group) {
    return [
      {
        option,
        target,
        severity: 'error',
        message: 'a Kafka input needs a consumer group: add ?group=NAME to the URI',
      },
    ];
  }
  const { probeKafka } = await import('./kafka/probe.js');
  const probe = await probeKafka(kafkaUri, { group: role === 'input' ? kafkaUri.group : undefined });
  const brokers = kafkaUri.connection.brokers.join(',');
  if (!probe.reachable) {
    return [
      {
        option,
        target,
        severity: 'error',
        message: `cannot reach the Kafka broker ${brokers} (${probe.reason}): is Kafka running there? check host:port in the URI, and RNNSTREAM_KAFKA_TLS / RNNSTREAM_KAFKA_SASL_* if the cluster needs them`,
      },
    ];
  }
  const reached = `broker reachable (${probe.brokers} in the cluster)`;
  const { topic } = kafkaUri;
  if (probe.partitions === undefined) {
    if (role === 'output' || kafkaUri.partitions !== undefined) {
      const count = kafkaUri.partitions ?? "the broker's default";
      return [
        {
          option,
          target,
          severity: 'ok',
          message: `${reached}; topic ${topic} does not exist yet: run creates it (${count} partitions)`,
        },
      ];
    }
    return [
      {
        option,
        target,
        severity: 'error',
        message: `topic '${topic}' does not exist (create it with the partitions you need, or add &partitions=N to the URI to have it created)`,
      },
    ];
  }
  let message = `${reached}; topic ${topic}: ${probe.partitions} partition${probe.partitions === 1 ? '' : 's'}`;
  if (role === 'input') {
    const rest = probe.partitions - (probe.committed ?? 0);
    message += `; group ${kafkaUri.group}: committed offsets on ${probe.committed ?? 0} of ${probe.partitions}`;
    if (rest > 0)
      message += `, the ${rest === probe.partitions ? 'partitions' : 'others'} start at the ${kafkaUri.offsetReset} offset (offsetReset=${kafkaUri.offsetReset})`;
  }
  return [{ option, target, severity: 'ok', message }];
}

/** Runs a parser; a ConfigError it throws becomes the option's error finding. */
function parse<T>(option: string, fn: () => T): { value: T; finding?: undefined } | { finding: Finding } {
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { finding: { option, target: '', severity: 'error', message: error.message } };
  }
}

function isKafka(uri: string): boolean {
  return uri.startsWith('kafka://') || uri.startsWith('kafkas://');
}

/** Why `path` cannot be read as a file, or `undefined` when it can. */
async function readableFile(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return `${path} is a folder, not a file`;
    await access(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return `cannot read ${path}: ${fileProblem(error, 'no such file')}`;
  }
}

/** Why `path` cannot be written (created or appended to), or `undefined` when it can. */
async function writableFile(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return `${path} is a folder, not a file`;
    await access(path, constants.W_OK);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      return `cannot write ${path}: ${fileProblem(error, '')}`;
  }
  const folder = dirname(resolve(path));
  try {
    const info = await stat(folder);
    if (!info.isDirectory()) return `cannot write ${path}: ${folder} is not a folder`;
    await access(folder, constants.W_OK);
    return undefined;
  } catch (error) {
    return `cannot write ${path}: ${fileProblem(error, `the folder ${folder} does not exist`)}`;
  }
}

/** A file-system error in plain words. */
function fileProblem(error: unknown, missing: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missing;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of the path is not a folder';
  return (error as Error).message;
}
