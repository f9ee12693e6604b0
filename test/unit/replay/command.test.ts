/**
 * The `replay` command line: its flags reach the replay under the names it reads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerReplayCommand } from '../../../pipeline/commands/replay.js';

function parse(argv: string[]): Record<string, unknown> {
  const program = new Command().exitOverride();
  let seen: Record<string, unknown> = {};
  registerReplayCommand(program, (cmd) => cmd.option('--in <uri>').option('--config <file>')).action(
    (flags: Record<string, unknown>) => {
      seen = flags;
    },
  );
  program.parse(argv, { from: 'user' });
  return seen;
}

describe('replay command line', () => {
  it('maps the replay flags to the request fields', () => {
    assert.deepEqual(
      parse(['replay', '--in', 'kafka://h:9092/t', '--from-offset', '0:1', '--namespace', 'n', '--promote']),
      { in: 'kafka://h:9092/t', fromOffset: '0:1', namespace: 'n', promote: true },
    );
    assert.deepEqual(parse(['replay', '--files', 'a.jsonl', 'b/*.csv']), { files: ['a.jsonl', 'b/*.csv'] });
    assert.deepEqual(parse(['replay', '--no-to-end']), { toEnd: false });
    assert.deepEqual(parse(['replay', '--to-end', '--from-time', '2025-01-01T00:00:00Z']), {
      toEnd: true,
      fromTime: '2025-01-01T00:00:00Z',
    });
  });
});
