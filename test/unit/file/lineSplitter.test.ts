import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { splitLines } from '../../../pipeline/file/lineSplitter.js';

async function lines(chunks: (Buffer | string)[], maxLineBytes = 1024) {
  const out: { text: string; truncated: boolean }[] = [];
  for await (const line of splitLines(
    (async function* () {
      yield* chunks;
    })(),
    maxLineBytes,
  ))
    out.push({ text: line.bytes.toString('latin1'), truncated: line.truncated });
  return out;
}
const plain = (...texts: string[]) => texts.map((text) => ({ text, truncated: false }));

describe('splitLines', () => {
  it('splits on \\n across chunk boundaries, drops a trailing \\r, keeps a last line without newline', async () => {
    assert.deepEqual(await lines(['ab', 'c\nd', 'e\r\n\nf']), plain('abc', 'de', '', 'f'));
    assert.deepEqual(await lines(['a\n']), plain('a'), 'no empty line after a final newline');
    assert.deepEqual(await lines([]), []);
  });

  it('keeps the bytes as they are: invalid UTF-8 is not replaced', async () => {
    const bad = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const out: Buffer[] = [];
    for await (const line of splitLines(
      (async function* () {
        yield Buffer.concat([bad, Buffer.from('\n')]);
      })(),
      64,
    ))
      out.push(line.bytes);
    assert.deepEqual(out, [bad]);
  });

  it('cuts a line longer than maxLineBytes there, flags it, and drops its rest up to the newline', async () => {
    assert.deepEqual(await lines(['abcdefgh\nok\n'], 3), [
      { text: 'abc', truncated: true },
      { text: 'ok', truncated: false },
    ]);
    assert.deepEqual(
      await lines(['ab', 'cd', 'ef'], 3),
      [{ text: 'abc', truncated: true }],
      'at the end too',
    );
    assert.deepEqual(await lines(['abc\n'], 3), plain('abc'), 'exactly the limit is not truncated');
  });

  it('property: any chunking of a text gives the lines of String.split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', '\n', '\r'), { maxLength: 40 }).map((c) => c.join('')),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (text, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points].map((from, i) => text.slice(from, points[i] ?? text.length));
          const expected = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
          if (text.endsWith('\n') || text === '') expected.pop();
          assert.deepEqual(await lines(chunks), plain(...expected));
        },
      ),
    );
  });
});
