/**
 * The one config → options mapping of `run` and `replay`: every option a part takes comes from the
 * config field of its name, and a replay differs from a run only in having no latency goal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveRunConfig } from '../../../pipeline/config.js';
import { rootLogger } from '../../../pipeline/logger.js';
import { optionsFromConfig } from '../../../pipeline/options.js';
import { DEFAULT_WHOLE_TEXT_OPTIONS } from '../../../pipeline/replay/wholeText.js';
import { DEFAULT_RUN_OPTIONS } from '../../../pipeline/run.js';

const log = rootLogger().child({ ns: 'test-options' });

/** Command-line flags of any valid run config. */
const flagsArb = fc.record(
  {
    model: fc.constantFrom('models/sentiment', '/tmp/some-model'),
    backend: fc.constantFrom('auto', 'cpu', 'wasm', 'onnxruntime'),
    emit: fc.constantFrom('sentiment', 'embedding', 'sentiment,embedding-base64'),
    inputFormat: fc.constantFrom('json', 'text'),
    maxBatchRows: fc.integer({ min: 1, max: 100_000 }),
    maxBatchTokens: fc.integer({ min: 1, max: 1_000_000 }),
    maxDelayMs: fc.integer({ min: 0, max: 10_000 }),
    maxBatchesInFlight: fc.integer({ min: 1, max: 16 }),
    targetLatencyMs: fc.integer({ min: 0, max: 10_000 }),
    onBadState: fc.constantFrom('reset', 'dlq', 'fail'),
    maxValueBytes: fc.integer({ min: 1, max: 1 << 24 }),
    maxKeyBytes: fc.integer({ min: 1, max: 1 << 16 }),
    maxTokens: fc.integer({ min: 1, max: 1 << 16 }),
    maxInFlight: fc.integer({ min: 1, max: 1 << 20 }),
    engineWorkers: fc.integer({ min: 1, max: 64 }),
    stateDtype: fc.constantFrom('float32', 'float16'),
    exactlyOnce: fc.boolean(),
  },
  { requiredKeys: [] },
);

describe('optionsFromConfig', () => {
  it('maps every option of every part from the config field of its name', () => {
    fc.assert(
      fc.property(flagsArb, fc.constantFrom('run' as const, 'replay' as const), (flags, mode) => {
        const config = resolveRunConfig(flags, {});
        const options = optionsFromConfig(config, { log, mode });
        const fields = config as unknown as Record<string, unknown>;
        // Every option the pipelines take is set (a new option without a mapping fails here).
        assert.deepEqual(Object.keys(options.pipeline).sort(), Object.keys(DEFAULT_RUN_OPTIONS).sort());
        assert.deepEqual(
          Object.keys(options.wholeText).sort(),
          Object.keys(DEFAULT_WHOLE_TEXT_OPTIONS).sort(),
        );
        for (const [key, value] of Object.entries(options.pipeline)) {
          if (key === 'targetLatencyMs') continue;
          assert.deepEqual(value, fields[key], `pipeline.${key}`);
        }
        for (const [key, value] of Object.entries(options.wholeText))
          assert.deepEqual(value, fields[key], `wholeText.${key}`);
        // Option name → config field, for the parts whose names differ from the config's.
        const renamed = { model: { dir: 'model' }, connect: {} } as Record<string, Record<string, string>>;
        for (const part of ['model', 'connect'] as const) {
          for (const [key, value] of Object.entries(options[part])) {
            if (key === 'log') assert.equal(value, log, `${part}.log`);
            else assert.deepEqual(value, fields[renamed[part][key] ?? key], `${part}.${key}`);
          }
        }
        assert.deepEqual(Object.keys(options.model).sort(), [
          'backend',
          'dir',
          'engineWorkers',
          'log',
          'maxTokens',
          'stateDtype',
        ]);
        assert.deepEqual(Object.keys(options.connect).sort(), [
          'exactlyOnce',
          'inputFormat',
          'log',
          'maxInFlight',
          'maxValueBytes',
        ]);
      }),
      { numRuns: 200 },
    );
  });

  it('gives a replay no latency goal and a run the configured one; nothing else differs', () => {
    fc.assert(
      fc.property(flagsArb, (flags) => {
        const config = resolveRunConfig(flags, {});
        const run = optionsFromConfig(config, { log });
        const replay = optionsFromConfig(config, { log, mode: 'replay' });
        assert.equal(run.pipeline.targetLatencyMs, config.targetLatencyMs);
        assert.equal(replay.pipeline.targetLatencyMs, 0);
        assert.deepEqual(
          { ...replay, pipeline: { ...replay.pipeline, targetLatencyMs: run.pipeline.targetLatencyMs } },
          run,
        );
      }),
      { numRuns: 200 },
    );
  });
});
