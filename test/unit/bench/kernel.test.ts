import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { benchKernelCommand, runKernelBench } from '../../../bench/kernel.js';
import { ConfigError } from '../../../core/errors.js';

const tiny = { vocab: 50, embed: 4, hidden: 6, batch: 3, steps: 2, seconds: 0, backend: 'cpu' as const };

describe('runKernelBench', () => {
  for (const cell of ['rnn', 'lstm', 'gru'] as const) {
    it(`measures a ${cell} and leaks no tensor`, async () => {
      await runKernelBench({ ...tiny, cell }); // the backend is set up on the first run
      const before = tf.memory().numTensors;
      const result = await runKernelBench({ ...tiny, cell });
      assert.equal(tf.memory().numTensors, before);
      assert.equal(result.cell, cell);
      assert.equal(result.backend, 'cpu');
      assert.ok(result.calls >= 1);
      assert.ok(result.tokens_per_s > 0);
      assert.ok(
        Math.abs(result.tokens_per_s - (3 * 2 * result.calls) / result.seconds) < 1e-6 * result.tokens_per_s,
      );
      assert.equal(result.input_table, true);
      assert.equal(result.flops_per_token, 2 * { rnn: 1, lstm: 4, gru: 3 }[cell] * 6 * 6);
    });
  }

  it('counts the input projection when the table is off', async () => {
    const result = await runKernelBench({ ...tiny, cell: 'gru', inputTable: 'never' });
    assert.equal(result.input_table, false);
    assert.equal(result.flops_per_token, 2 * 3 * 6 * (6 + 4));
  });
});

describe('benchKernelCommand', () => {
  it('refuses a bad flag naming it', async () => {
    await assert.rejects(
      benchKernelCommand({ batch: '0' }),
      (e: unknown) => e instanceof ConfigError && /--batch/.test(e.message),
    );
    await assert.rejects(
      benchKernelCommand({ cell: 'tcn' }),
      (e: unknown) => e instanceof ConfigError && /--cell/.test(e.message),
    );
  });

  it('prints the JSON line last with --json', () => {
    // In a child process: swapping this process's stdout would also swallow the test runner's own output.
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/cli.ts',
        'kernel',
        ...['--cell', 'rnn', '--vocab', '40', '--embed', '4', '--hidden', '4'],
        ...['--batch', '2', '--steps', '2', '--seconds', '0', '--backend', 'cpu', '--json'],
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    assert.equal(last.cell, 'rnn');
    assert.equal(last.batch, 2);
    assert.ok(last.tokens_per_s > 0);
  });
});
