import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { GOLDEN_DIR } from '../../fixtures/golden.js';
import { makeTinyModel } from '../../fixtures/tinyModel.js';

const CLI = ['--import', 'tsx', 'pipeline/cli.ts'];
const env = { ...process.env, RNNSTREAM_BACKEND: 'wasm' };

/** The JSON values of a text of JSON lines. */
const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** A run that exited 0 with three outputs, two of them `key`'s: 2 tokens, then 4 in all. */
function assertThreeOutputs(r: { status: number | null; stdout: string; stderr: string }, key: string): void {
  assert.equal(r.status, 0, r.stderr);
  const outs = jsonLines(r.stdout);
  assert.equal(outs.length, 3);
  assert.deepEqual(
    outs.filter((o) => o.key === key).map((o) => o.totalTokens),
    [2, 4],
  );
}

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', input, env, timeout: 120_000 });
}

describe('rnnstream CLI', () => {
  let model: string;
  let work: string;
  before(async () => {
    model = await makeTinyModel();
    work = await mkdtemp(join(tmpdir(), 'rnnstream-cli-'));
  });

  it('verify: the golden PyTorch cases pass, whole and chunked (exit 0)', () => {
    const r = cli([
      'verify',
      '--backend',
      'wasm',
      '--reference',
      join(GOLDEN_DIR, 'gru-1x16'),
      join(GOLDEN_DIR, 'lstm-1x16'),
      join(GOLDEN_DIR, 'rnn-1x16'),
      join(GOLDEN_DIR, 'README.md'),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /all 3 cases within tolerance/);
  });

  it('verify: a case out of tolerance exits 1', async () => {
    const dir = join(work, 'bad-case');
    await import('node:fs/promises').then((fs) =>
      fs.cp(join(GOLDEN_DIR, 'gru-1x16'), dir, { recursive: true }),
    );
    const spec = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8'));
    spec.sequences[0].outputs[0][0] += 0.01;
    await writeFile(join(dir, 'case.json'), JSON.stringify(spec));
    const r = cli(['verify', '--backend', 'wasm', '--reference', dir]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAIL|exceed/i);
  });

  it('bench: the sub-commands from bench/ load for `bench` and `help bench`, and take their flags', () => {
    for (const args of [
      ['bench', '--help'],
      ['help', 'bench'],
    ]) {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
      for (const name of ['kernel', 'pipeline', 'memory'])
        assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
    }
    const kernel = cli(['bench', 'kernel', '--help']);
    assert.equal(kernel.status, 0, kernel.stderr);
    assert.match(kernel.stdout, /--input-table <mode>/);
    assert.match(kernel.stdout, /--backend <name>.*onnxruntime/s);
    const unknown = cli(['bench', 'kernel', '--no-such-flag']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--no-such-flag/);
  });

  it('a bad option or value is a one-line error naming it, exit 2', () => {
    const r = cli(['run', '--max-batch-rows', 'many', '--model', model]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--max-batch-rows/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const unknown = cli(['run', '--no-such-option']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--no-such-option/);
    const badUri = cli(['run', '--in', 'ftp://x', '--model', model]);
    assert.equal(badUri.status, 2);
    assert.match(badUri.stderr, /--in/);
  });

  it('run ends by itself when a file input ends, one output per good line, dead letters to --dlq', async () => {
    const input = join(work, 'in.jsonl');
    const dlq = join(work, 'dlq.jsonl');
    await writeFile(
      input,
      [
        '{"key":"a","text":"good food"}',
        'not json',
        '{"key":"b","text":"bad service"}',
        '{"key":"a","text":"but slow","end":true}',
        '',
      ].join('\n'),
    );
    const r = cli([
      'run',
      '--in',
      `file:${input}`,
      '--out',
      '-',
      '--dlq',
      `file:${dlq}`,
      '--model',
      model,
      '--log-level',
      'silent',
    ]);
    assertThreeOutputs(r, 'a');
    const dead = jsonLines(await readFile(dlq, 'utf8'));
    assert.equal(dead.length, 1);
    assert.equal(dead[0].reason, 'invalid-json');
    assert.equal(Buffer.from(dead[0].value, 'base64').toString(), 'not json');
  });

  it('run reads a .csv input as CSV with key and text columns, as replay does', async () => {
    const input = join(work, 'feed.csv');
    await writeFile(input, 'key,text\nk1,good movie\nk2,"terrible, just terrible"\nk1,very good\n');
    const r = cli(['run', '--in', `file:${input}`, '--out', '-', '--model', model, '--log-level', 'silent']);
    assertThreeOutputs(r, 'k1');
  });

  it('text input format: key<TAB>text lines', () => {
    const r = cli(
      ['run', '--in', '-', '--input-format', 'text', '--model', model, '--log-level', 'silent'],
      'k1\tgood movie\nk2\tterrible\nk1\tvery good\n',
    );
    assertThreeOutputs(r, 'k1');
  });

  it('SIGTERM drains in-flight work, flushes outputs and exits 0', async () => {
    const child = spawn(
      process.execPath,
      [...CLI, 'run', '--in', '-', '--model', model, '--log-level', 'info'],
      { env },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    for (let i = 0; i < 20; i++)
      child.stdin.write(`${JSON.stringify({ key: `k${i % 3}`, text: 'good movie' })}\n`);
    // Wait until outputs flow, then ask it to stop while stdin is still open.
    const deadline = Date.now() + 60_000;
    while (stdout.split('\n').length <= 20 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.equal(stdout.trim().split('\n').length, 20);
    assert.match(stderr, /draining/);
  });

  it('serves /metrics, /healthz and /readyz while run works on a file-style input', async () => {
    const child = spawn(
      process.execPath,
      [...CLI, 'run', '--in', '-', '--model', model, '--metrics-port', '0', '--log-level', 'info'],
      { env },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    child.stdin.write(`${JSON.stringify({ key: 'm', text: 'good movie' })}\n`);
    const deadline = Date.now() + 60_000;
    let port: number | undefined;
    while (port === undefined && Date.now() < deadline) {
      const line = stderr.split('\n').find((l) => l.includes('serving /metrics'));
      if (line) port = JSON.parse(line).port;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(port, stderr);
    while (!stdout.includes('"key":"m"') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /rnnstream_messages_in_total 1/);
    assert.match(metrics.body, /rnnstream_messages_out_total 1/);
    assert.match(metrics.body, /rnnstream_backend_info\{backend="wasm"\} 1/);
    child.kill('SIGTERM');
    assert.equal(await new Promise<number | null>((resolve) => child.on('exit', resolve)), 0);
  });

  it('train and eval: a tiny labelled file trains a package that eval scores, with a JSON last line', async () => {
    const data = join(work, 'tiny.csv');
    const rows = ['label,text'];
    for (let i = 0; i < 40; i++)
      rows.push(i % 2 ? `1,good great lovely movie ${i}` : `0,bad terrible awful food ${i}`);
    await writeFile(data, `${rows.join('\n')}\n`);
    const out = join(work, 'trained');
    const trained = cli([
      'train',
      '--data',
      data,
      '--out',
      out,
      '--cell',
      'gru',
      '--hidden',
      '8',
      '--embed',
      '4',
      '--epochs',
      '2',
      '--backend',
      'wasm',
    ]);
    assert.equal(trained.status, 0, trained.stderr);
    const evaluated = cli(['eval', '--data', data, '--model', out, '--json', '--backend', 'wasm']);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const last = JSON.parse(evaluated.stdout.trim().split('\n').at(-1)!);
    assert.equal(last.n, 40);
    for (const key of ['accuracy', 'f1', 'auc'])
      assert.ok(last[key] >= 0 && last[key] <= 1, `${key} ${last[key]}`);
    const bad = cli(['eval', '--data', join(work, 'missing.csv'), '--model', out]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /missing\.csv/);
    // Distillation from the package just trained, through the CLI's flags.
    const student = join(work, 'student');
    const small = ['--data', data, '--hidden', '6', '--embed', '4', '--epochs', '1', '--backend', 'wasm'];
    const distilled = cli(['train', ...small, '--out', student, '--teacher', out, '--label-weight', '0.25']);
    assert.equal(distilled.status, 0, distilled.stderr);
    assert.match(
      await readFile(join(student, 'MODEL_CARD.md'), 'utf8'),
      /weighted 0\.75 beside the label's 0\.25/,
    );
    const badWeight = cli(['train', ...small, '--out', student, '--teacher', out, '--label-weight', '2']);
    assert.equal(badWeight.status, 2);
    assert.match(badWeight.stderr, /--label-weight: expected a number from 0 to 1, got "2"/);
  });

  it('run refuses a bidirectional model with a clear error (exit 2); score accepts it on whole texts', async () => {
    const bidirectional = await makeTinyModel({ bidirectional: true });
    const refused = cli(['run', '--in', '-', '--model', bidirectional, '--log-level', 'silent'], '');
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /bidirectional/);
    assert.match(refused.stderr, /whole text/);
    const scored = cli(['score', '--model', bidirectional, '--backend', 'wasm', 'good movie', 'bad food']);
    assert.equal(scored.status, 0, scored.stderr);
    assert.equal(scored.stdout.trim().split('\n').length, 2);
  });
});
