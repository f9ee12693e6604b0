/**
 * A replay in its own process, for the test that kills one midway: `node --import tsx replayChild.ts '<flags JSON>'`.
 */
import { replayCommand } from '../../../pipeline/commands/replay.js';

process.exitCode = await replayCommand(JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>);
