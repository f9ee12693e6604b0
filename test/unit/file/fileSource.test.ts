/**
 * The one file source of `run` and `replay`: its positions (one increasing offset sequence over the
 * files, a single file's being its line indexes), its backpressure on the shared Budget, and stop.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastValueFrom, toArray } from 'rxjs';
import type { SourceRecord } from '../../../core/contracts.js';
import { FILE_OFFSET_STRIDE, FileSource, maxLineBytesFor } from '../../../pipeline/file/fileSource.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Turns of the event loop until `done` holds (file reads finish off the main thread). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !done(); i++) await flush();
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rnnstream-filesource-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function readAll(source: FileSource): Promise<SourceRecord[]> {
  const all = lastValueFrom(source.records$.pipe(toArray()));
  void source.start();
  return all;
}

describe('FileSource', () => {
  it('places a single file at (file:PATH, 0, line index), blank lines keeping their index', async () => {
    const path = join(work, 'one.jsonl');
    await writeFile(path, '{"key":"a","text":"x"}\n\n{"key":"b","text":"y"}\n');
    const records = await readAll(new FileSource({ paths: [path] }));
    assert.deepEqual(
      records.map((r) => r.source),
      [
        { topic: `file:${path}`, partition: 0, offset: '0' },
        { topic: `file:${path}`, partition: 0, offset: '2' },
      ],
    );
  });

  it('gives several files one increasing offset sequence on partition 0', async () => {
    const a = join(work, 'a.txt');
    const b = join(work, 'b.txt');
    await writeFile(a, 'k1\tone\nk2\ttwo\n');
    await writeFile(b, 'k1\tthree\n');
    const records = await readAll(new FileSource({ paths: [a, b], format: 'text' }));
    assert.deepEqual(
      records.map((r) => [
        r.source.topic,
        r.source.partition,
        r.source.offset,
        r.key?.toString(),
        r.value?.toString(),
      ]),
      [
        [`file:${a}`, 0, '0', 'k1', 'one'],
        [`file:${a}`, 0, '1', 'k2', 'two'],
        [`file:${b}`, 0, String(FILE_OFFSET_STRIDE), 'k1', 'three'],
      ],
    );
  });

  it('pauses while maxInFlight records are un-acked and resumes on ack', async () => {
    const path = join(work, 'many.jsonl');
    await writeFile(path, Array.from({ length: 5 }, (_, i) => `{"text":"m${i}"}\n`).join(''));
    const source = new FileSource({ paths: [path], maxInFlight: 2 });
    const seen: SourceRecord[] = [];
    let completed = false;
    source.records$.subscribe({ next: (r) => seen.push(r), complete: () => (completed = true) });
    const reading = source.start();
    await until(() => seen.length >= 2);
    for (let i = 0; i < 20; i++) await flush();
    assert.equal(seen.length, 2, 'no record beyond the budget while nothing is acked');
    assert.equal(source.inFlight, 2);
    await source.ack([seen[0].source]);
    await until(() => seen.length >= 3);
    for (let i = 0; i < 20; i++) await flush();
    assert.equal(seen.length, 3);
    await source.ack(seen.slice(1).map((r) => r.source));
    await reading;
    assert.equal(seen.length, 5);
    assert.equal(completed, true);
  });

  it('a stop while waiting for budget ends the read and completes the stream', async () => {
    const path = join(work, 'stop.jsonl');
    await writeFile(path, '{"text":"a"}\n{"text":"b"}\n{"text":"c"}\n');
    const source = new FileSource({ paths: [path], maxInFlight: 1 });
    let seen = 0;
    source.records$.subscribe(() => seen++);
    const all = lastValueFrom(source.records$.pipe(toArray()));
    const reading = source.start();
    await until(() => seen >= 1);
    for (let i = 0; i < 20; i++) await flush();
    await source.stop();
    await reading;
    assert.equal((await all).length, 1, 'nothing read after the stop');
  });

  it('refuses a maxInFlight that is not a positive integer, naming it', () => {
    assert.throws(
      () => new FileSource({ paths: [], maxInFlight: 0 }),
      /maxInFlight must be a positive integer/,
    );
  });

  it('keeps lines up to four values and some headroom', () => {
    assert.equal(maxLineBytesFor(1000), 8096);
  });
});
