import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../../core/errors.js';
import { readLabelledFile } from '../../../model/data/readers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnnstream-readers-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a file in the temp folder and returns its path. */
async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Asserts a ConfigError whose message matches. */
async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('readLabelledFile', () => {
  it('reads CSV with a BOM, quoted fields and multi-line records, with line numbers', async () => {
    const path = await file('a.csv', '\uFEFFlabel,text\n1,"great, really"\n-1,"bad\nvery bad"\n1,fine\n');
    const rows = await readLabelledFile(path);
    assert.deepEqual(
      rows.map((r) => [r.label, r.text, r.line]),
      [
        ['1', 'great, really', 2],
        ['-1', 'bad\nvery bad', 3],
        ['1', 'fine', 5],
      ],
    );
  });

  it('reads TSV and JSON lines with configurable column names', async () => {
    const tsv = await file('b.tsv', 'sentiment\tbody\npositive\tloved it\n');
    assert.deepEqual(
      (await readLabelledFile(tsv, { textColumn: 'body', labelColumn: 'sentiment' })).map((r) => [
        r.label,
        r.text,
      ]),
      [['positive', 'loved it']],
    );
    const jsonl = await file('c.jsonl', '{"review":"ok","y":1}\n\n{"review":"meh","y":0}\n');
    assert.deepEqual(
      (await readLabelledFile(jsonl, { textColumn: 'review', labelColumn: 'y' })).map((r) => [
        r.label,
        r.line,
      ]),
      [
        ['1', 1],
        ['0', 3],
      ],
    );
  });

  it('names the file and line of a missing column', async () => {
    const path = await file('d.csv', 'label,body\n1,good\n');
    await rejects(readLabelledFile(path), /d\.csv:1: missing column "text" \(the header has: label, body\)/);
    const jsonl = await file('e.jsonl', '{"text":"ok","label":1}\n{"text":"no label"}\n');
    await rejects(readLabelledFile(jsonl), /e\.jsonl:2: missing column "label"/);
  });

  it('refuses empty files', async () => {
    await rejects(readLabelledFile(await file('empty.csv', '')), /empty\.csv:1: empty file/);
    await rejects(readLabelledFile(await file('blank.jsonl', '\n\n')), /blank\.jsonl:1: empty file/);
    await rejects(readLabelledFile(await file('header.csv', 'label,text\n')), /header\.csv:2: no data rows/);
  });

  it('refuses non-UTF-8 bytes, naming the line', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('label,text\n1,good\n0,'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9]),
      Buffer.from('\n'),
    ]);
    await rejects(readLabelledFile(await file('latin1.csv', latin1)), /latin1\.csv:3: not valid UTF-8/);
  });

  it('refuses empty texts and labels and bad JSON, naming the line', async () => {
    await rejects(readLabelledFile(await file('f.csv', 'label,text\n1,ok\n0,  \n')), /f\.csv:3: empty text/);
    await rejects(readLabelledFile(await file('g.csv', 'label,text\n,ok\n')), /g\.csv:2: empty label/);
    await rejects(
      readLabelledFile(await file('h.jsonl', '{"text":"a","label":1}\n{oops\n')),
      /h\.jsonl:2: not valid JSON/,
    );
  });
});
