/**
 * The pure parts of replay: namespace names and URIs, start flags, globs, CSV records, file offsets,
 * and progress lines.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import { FILE_OFFSET_STRIDE, FileSource, splitFileOffset } from '../../../pipeline/file/fileSource.js';
import { rootLogger } from '../../../pipeline/logger.js';
import { countRecords, expandInputs } from '../../../pipeline/replay/fileInput.js';
import {
  describeStart,
  parseFromOffsets,
  parseFromTime,
  parseStart,
} from '../../../pipeline/replay/kafkaRange.js';
import {
  checkpointKey,
  defaultReplayName,
  pointerKey,
  replayPrefix,
  resolveActiveNamespace,
  withStatePrefix,
} from '../../../pipeline/replay/namespace.js';
import { progressLine } from '../../../pipeline/replay/progress.js';
import { parseStateUri } from '../../../pipeline/state/stateUri.js';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rnnstream-replay-helpers-'));
});
after(() => rm(work, { recursive: true, force: true }));

describe('replay namespaces', () => {
  it('puts a replay beside the base prefix, never under it', () => {
    assert.equal(replayPrefix('rnnstream:', 'replay-1'), 'rnnstream~replay-1:');
    assert.equal(replayPrefix('app', 'n'), 'app~n:');
    assert.ok(!replayPrefix('prod:', 'x').startsWith('prod:'), 'a live key could collide with a replay key');
    assert.equal(pointerKey('prod:'), 'prod~active');
    assert.equal(checkpointKey('prod:', 'x'), 'prod~x~replay');
    assert.notEqual(checkpointKey('prod:', 'x'), `${replayPrefix('prod:', 'x')}`);
    assert.throws(() => replayPrefix('p:', 'has space'), /--namespace/);
    assert.equal(defaultReplayName(new Date('2025-01-02T03:04:05.678Z')), 'replay-20250102T030405Z');
  });

  it('rewrites only the prefix of a state URI', () => {
    const uri = withStatePrefix('redis://user:pw@h:6380/2?ttl=60&prefix=old:', 'old~r1:');
    const target = parseStateUri(uri);
    assert.equal(target.kind, 'redis');
    if (target.kind !== 'redis') return;
    assert.equal(target.prefix, 'old~r1:');
    assert.equal(target.ttlMs, 60_000);
    assert.equal(target.db, 2);
    assert.equal(target.password, 'pw');
    assert.equal((parseStateUri(withStatePrefix('redis://h', 'a~b:')) as { prefix: string }).prefix, 'a~b:');
  });

  it('leaves a memory: state URI alone when resolving the active namespace', async () => {
    assert.equal(await resolveActiveNamespace('memory:'), 'memory:');
  });
});

describe('replay start flags', () => {
  it('parses --from-offset and --from-time, refusing bad ones', () => {
    assert.deepEqual(
      parseFromOffsets('0:10, 2:0'),
      new Map([
        [0, '10'],
        [2, '0'],
      ]),
    );
    assert.throws(() => parseFromOffsets('0=10'), /PARTITION:OFFSET/);
    assert.throws(() => parseFromOffsets('1:1,1:2'), /twice/);
    assert.equal(parseFromTime('2025-01-01T00:00:00Z'), 1735689600000);
    assert.equal(parseFromTime('1735689600000'), 1735689600000);
    assert.throws(() => parseFromTime('yesterday'), /--from-time/);
    for (const start of [
      { kind: 'beginning' as const },
      { kind: 'time' as const, timestamp: 5 },
      { kind: 'offsets' as const, offsets: new Map([[1, '7']]) },
    ]) {
      assert.deepEqual(parseStart(describeStart(start)), start);
    }
  });
});

describe('replay files', () => {
  it('expands globs in order, each sorted, without duplicates', async () => {
    await mkdir(join(work, 'g/sub'), { recursive: true });
    for (const name of ['b.jsonl', 'a.jsonl', 'c.csv', 'sub/d.jsonl'])
      await writeFile(join(work, 'g', name), '');
    const g = join(work, 'g');
    assert.deepEqual(await expandInputs([`${g}/*.jsonl`, `${g}/a.jsonl`, `${g}/**/*.jsonl`]), [
      `${g}/a.jsonl`,
      `${g}/b.jsonl`,
      `${g}/sub/d.jsonl`,
    ]);
    assert.deepEqual(await expandInputs([`${g}/[c]?csv`]), [`${g}/c.csv`]);
    await assert.rejects(expandInputs([`${g}/missing.jsonl`]), /does not exist/);
  });

  it('reads JSON lines and CSV with one increasing offset sequence, skipping what a checkpoint covers', async () => {
    const a = join(work, 'a.jsonl');
    const b = join(work, 'b.csv');
    await writeFile(a, '{"key":"k","text":"one"}\n\n{"key":"k","text":"two"}\n');
    await writeFile(b, 'key,text,end,id\nk,"three, with a comma",true,m3\nj,four,,\n');
    assert.equal(await countRecords(a, 'json'), 3);
    assert.equal(await countRecords(b, 'csv'), 2);
    const read = async (resumeAfter?: Map<number, bigint>) => {
      const source = new FileSource({ paths: [a, b], resumeAfter });
      const all = lastValueFrom(source.records$.pipe(toArray()));
      void source.start();
      return all;
    };
    const records = await read();
    assert.deepEqual(
      records.map((r) => r.source.offset),
      ['0', '2', String(FILE_OFFSET_STRIDE), String(FILE_OFFSET_STRIDE + 1n)],
    );
    assert.deepEqual(splitFileOffset(FILE_OFFSET_STRIDE + 1n), { file: 1, line: 1n });
    assert.equal(records[2].key?.toString(), 'k');
    assert.deepEqual(JSON.parse(records[2].value?.toString() ?? ''), {
      text: 'three, with a comma',
      end: true,
      id: 'm3',
    });
    assert.deepEqual(JSON.parse(records[3].value?.toString() ?? ''), { text: 'four' });
    const resumed = await read(
      new Map([
        [0, 0n],
        [1, FILE_OFFSET_STRIDE],
      ]),
    );
    assert.deepEqual(
      resumed.map((r) => r.source.offset),
      ['2', String(FILE_OFFSET_STRIDE + 1n)],
    );
  });

  it('refuses a CSV without key and text columns', async () => {
    const bad = join(work, 'bad.csv');
    await writeFile(bad, 'user,message\nk,hi\n');
    const source = new FileSource({ paths: [bad] });
    const all = lastValueFrom(source.records$.pipe(toArray()));
    void source.start();
    await assert.rejects(all, /"key" and "text" columns/);
  });
});

describe('replay progress', () => {
  it('computes rate, percentage and ETA from what is done since the start', () => {
    assert.deepEqual(progressLine(600, 1000, 100, 10), {
      done: 600,
      total: 1000,
      percent: 60,
      perSecond: 50,
      etaSeconds: 8,
    });
    assert.deepEqual(progressLine(10, undefined, 0, 0), { done: 10, perSecond: 0 });
  });
});

describe('replay progress bar', () => {
  it('draws rate and count on a terminal', async () => {
    const { PassThrough } = await import('node:stream');
    const { createProgress } = await import('../../../pipeline/replay/progress.js');
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    let drawn = '';
    stream.on('data', (chunk: Buffer) => {
      drawn += chunk.toString();
    });
    const progress = createProgress({ total: 100, initial: 10, tty: true, stream, log: rootLogger() });
    progress.advance(40);
    assert.equal(progress.done, 50);
    progress.stop(true);
    assert.match(drawn, /replay .*100\/100 msgs/);
  });
});
