/**
 * A client nobody here wrote (issue 3, "Done when"): `key<TAB>text` lines produced by kcat (librdkafka,
 * the Debian package) are scored with `--input-format text`, and kcat reads the outputs back.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OutputMessage } from '../../../core/contracts.js';
import { E2eContext } from '../../fixtures/kafkaRun.js';

/** The kcat binary on PATH (or /usr/bin), if installed. */
function findKcat(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin'];
  for (const dir of dirs) {
    const path = join(dir, 'kcat');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

const KCAT = findKcat();

/** Runs kcat with `args`, feeding `input` on stdin; resolves to its stdout. */
function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      KCAT ?? 'kcat',
      args,
      { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kcat ${args.join(' ')}: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(input ?? '');
  });
}

const LINES = [
  ['alice', 'the movie was great'],
  ['bob', 'the food was terrible'],
  ['alice', 'but the service was bad !'],
  ['carol', 'i love this , très bien 👍'],
  ['bob', 'not very good'],
  ['alice', 'i hate it .'],
  ['carol', 'great great great'],
  ['bob', 'and the movie is not bad'],
];

describe('kcat interoperability', { timeout: 120_000 }, () => {
  let ctx: E2eContext;

  before(async () => {
    if (KCAT) ctx = await E2eContext.create();
  });

  after(() => ctx?.cleanup());

  it('scores text produced by kcat and kcat reads the outputs back', {
    skip: KCAT ? false : 'kcat is not installed (Debian/Ubuntu: apt-get install kcat)',
  }, async () => {
    const broker = ctx.brokers[0];
    const input = await ctx.topic('kcat-in', 2);
    const output = await ctx.topic('kcat-out', 2);
    await kcat(
      ['-P', '-b', broker, '-t', input, '-K', '\t'],
      `${LINES.map(([k, v]) => `${k}\t${v}`).join('\n')}\n`,
    );
    // kcat places keys with librdkafka's partitioner: read where they went, with kcat too.
    const positions = (await kcat(['-C', '-b', broker, '-t', input, '-e', '-q', '-f', '%k\t%p\t%o\t%s\n']))
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [key, partition, offset, text] = line.split('\t');
        return { key, partition: Number(partition), offset, text };
      });
    assert.equal(positions.length, LINES.length);

    const watcher = await ctx.watch(output);
    const worker = ctx.worker({
      input,
      group: ctx.group('kcat'),
      output,
      prefix: ctx.prefix('kcat-state'),
      inputFormat: 'text',
    });
    await watcher.waitForCount(LINES.length, 90_000);
    const stats = await worker.stop();
    assert.equal(stats.deadLetters, 0);

    const outputs = (await kcat(['-C', '-b', broker, '-t', output, '-e', '-q']))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as OutputMessage);
    assert.equal(outputs.length, LINES.length);
    for (const position of positions) {
      const out = outputs.find(
        (o) => o.source.partition === position.partition && o.source.offset === position.offset,
      );
      assert.ok(out, `an output for ${position.key} "${position.text}"`);
      assert.equal(out.source.topic, input);
      assert.equal(out.key, position.key);
      assert.ok(out.tokens >= 1);
      assert.ok(out.sentiment && out.sentiment.score >= 0 && out.sentiment.score <= 1);
    }
    // Per key, in the order kcat wrote them, the sequence grows message by message.
    for (const key of ['alice', 'bob', 'carol']) {
      const list = outputs.filter((o) => o.key === key);
      assert.equal(list.length, LINES.filter(([k]) => k === key).length);
      let total = 0;
      for (const out of list) {
        total += out.tokens;
        assert.equal(out.totalTokens, total, `${key} totalTokens`);
      }
    }
  });
});
