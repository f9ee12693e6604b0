import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { makeBatches } from '../../../model/train/examples.js';
import { type TrainOptions, train } from '../../../model/train/train.js';
import { adjectiveSentences } from '../../fixtures/sentences.js';

let dir: string;
let data: string;
let teacher: string;

const tiny = (out: string, extra: Partial<TrainOptions> = {}, files = [data]) =>
  train({
    data: files,
    out: join(dir, out),
    hidden: 8,
    embed: 8,
    epochs: 2,
    batchSize: 8,
    seed: 5,
    minCount: 1,
    progress: 'none',
    ...extra,
  });
const weights = (name: string) => readFile(join(dir, name, 'weights.safetensors'));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-distil-'));
  data = join(dir, 'tiny.csv');
  await writeFile(data, adjectiveSentences());
  teacher = join(dir, 'teacher');
  await tiny('teacher', { seed: 3, hidden: 12 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('distillation (train --teacher)', () => {
  it('trains on the teachers’ soft targets beside the labels, deterministically', async () => {
    const a = await tiny('student-a', { teachers: [teacher] });
    await tiny('student-b', { teachers: [teacher] });
    await tiny('alone');
    assert.ok(
      (await weights('student-a')).equals(await weights('student-b')),
      'same seed and teacher, same weights',
    );
    assert.ok(
      !(await weights('student-a')).equals(await weights('alone')),
      'the soft targets change the weights',
    );
    assert.ok(a.servingDifference < 1e-4, `serving difference ${a.servingDifference}`);
    assert.match(
      await readFile(join(dir, 'student-a', 'MODEL_CARD.md'), 'utf8'),
      /distillation \| soft targets: the mean probabilities of 1 teacher/,
    );
  });

  it('with label weight 1 trains exactly as without teachers', async () => {
    await tiny('label-only', { teachers: [teacher, teacher], labelWeight: 1 });
    await tiny('alone-again');
    assert.ok((await weights('label-only')).equals(await weights('alone-again')));
  });

  it('refuses a teacher of another vocabulary and a label weight outside 0…1, naming the option', async () => {
    const other = join(dir, 'other.csv');
    await writeFile(other, adjectiveSentences(['a dog', 'my cat']));
    await tiny('other-teacher', {}, [other]);
    await assert.rejects(
      tiny('x', { teachers: [join(dir, 'other-teacher')] }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /^--teacher .*other-teacher: its vocabulary or tokenizer differ/.test(e.message),
    );
    await assert.rejects(
      tiny('y', { teachers: [teacher], labelWeight: 1.5 }),
      /--label-weight must be between 0 and 1/,
    );
  });

  it('keeps each example’s soft target with its row when batching', () => {
    const examples = Array.from({ length: 20 }, (_, i) => ({
      ids: Int32Array.from({ length: 1 + (i % 7) }, () => 2 + i),
      label: i % 2,
      soft: [i / 100, 1 - i / 100],
    }));
    for (const { batch, labels, soft } of makeBatches(examples, 4)) {
      assert.ok(soft && soft.length === labels.length);
      soft.forEach((p, r) => {
        const i = Math.round(p[0] * 100);
        assert.equal(labels[r], i % 2);
        assert.equal(batch.ids[r], 2 + i, 'step 0 of row r is the example the soft target belongs to');
      });
    }
  });
});
