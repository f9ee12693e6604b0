/**
 * First-run errors (issue 13): every input, output, model and state URI that cannot be opened stops
 * `rnnstream run` with one line on stderr naming the option and the fix, and exit code 2 — no stack trace.
 * The CLI runs as a child process, as a user would start it; the Kafka cases use the real broker (or a
 * port nothing listens on).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, uniqueName, useFixture } from '../../harness/index.js';

/** Where nothing listens: connections are refused at once. */
const DEAD = '127.0.0.1:1';

function run(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'pipeline/cli.ts', 'run', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    input: '',
    env: { ...process.env, RNNSTREAM_BACKEND: 'wasm', RNNSTREAM_LOG_LEVEL: 'info' },
    timeout: 60_000,
  });
}

/** Exit code 2 and exactly one line on stderr, `rnnstream: OPTION …`, matching `message`. */
function assertOneLine(args: string[], option: string, message: RegExp): void {
  const r = run(args);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(r.status, 2, `exit code of run ${args.join(' ')}\n${r.stderr}`);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.ok(lines[0].startsWith(`rnnstream: ${option}`), `names ${option}: ${lines[0]}`);
  assert.match(lines[0], message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('run: a part that cannot be opened is one line naming the option and the fix, exit 2', () => {
  const fx = useFixture();
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'rnnstream-first-run-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('--in file: that does not exist', () => {
    assertOneLine(
      ['--in', 'file:/missing/in.jsonl'],
      '--in',
      /cannot read \/missing\/in\.jsonl: no such file \(check the path, or read stdin with --in -\)/,
    );
  });

  it('--in file: that is a folder', () => {
    assertOneLine(['--in', `file:${work}`], '--in', /is a folder, not a file/);
  });

  it('--out file: in a folder that does not exist', () => {
    assertOneLine(
      ['--out', 'file:/missing-dir/out.jsonl'],
      '--out',
      /the folder \/missing-dir does not exist \(create it.*--out -\)/,
    );
  });

  it('--dlq file: in a folder that does not exist', () => {
    assertOneLine(
      ['--dlq', 'file:/missing-dir/dead.jsonl'],
      '--dlq',
      /the folder \/missing-dir does not exist \(create it.*leave --dlq out/,
    );
  });

  it('--model folder that does not exist', () => {
    assertOneLine(['--model', '/missing-model'], '--model', /no such folder \(give a model package folder/);
  });

  it('--model folder that is not a model package', () => {
    assertOneLine(
      ['--model', work],
      '--model',
      /--model \S+: model package .*cannot be read \(give a model package folder, see docs\/MODEL_PACKAGE\.md\)/,
    );
  });

  it('--state with an unknown scheme', () => {
    assertOneLine(['--state', 'bogus://x'], '--state', /unknown scheme; use one of memory:/);
  });

  it('--state Redis that cannot be reached', () => {
    assertOneLine(
      ['--state', `redis://${DEAD}/0`],
      '--state',
      /cannot reach Redis at 127\.0\.0\.1:1 .*is Redis running there\?/,
    );
  });

  it('--in Kafka broker that cannot be reached', () => {
    assertOneLine(
      ['--in', `kafka://${DEAD}/texts?group=g`],
      '--in',
      /cannot reach the Kafka broker 127\.0\.0\.1:1 .*is Kafka running there\?/,
    );
  });

  it('--in Kafka topic that does not exist', () => {
    const topic = uniqueName('first-run-missing');
    assertOneLine(
      ['--in', `kafka://${fx.brokers[0]}/${topic}?group=g`],
      '--in',
      new RegExp(`topic '${topic}' does not exist \\(create it.*partitions=N`),
    );
  });

  it('--in Kafka without a consumer group', () => {
    assertOneLine(
      ['--in', `kafka://${fx.brokers[0]}/texts`],
      '--in',
      /needs a consumer group: add \?group=NAME/,
    );
  });

  it('--out Kafka broker that cannot be reached', () => {
    assertOneLine(
      ['--out', `kafka://${DEAD}/scores`],
      '--out',
      /cannot reach the Kafka broker 127\.0\.0\.1:1/,
    );
  });
});
