/**
 * `rnnstream state inspect|drop`: small tools over a Redis state namespace.
 */
import { dropNamespace, inspectKey } from '../state/stateTools.js';

/** Prints a key's decoded record header (or why it is unusable). */
export async function stateInspectCommand(key: string, flags: { state: string }): Promise<number> {
  const found = await inspectKey(flags.state, key);
  process.stdout.write(`${JSON.stringify(found, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2)}\n`);
  return found.found ? 0 : 1;
}

/** Deletes every key of a namespace; needs `--yes`. */
export async function stateDropCommand(flags: {
  state: string;
  prefix?: string;
  yes?: boolean;
}): Promise<number> {
  if (!flags.yes) {
    process.stderr.write('rnnstream: state drop deletes every key of the namespace: add --yes to confirm\n');
    return 2;
  }
  const dropped = await dropNamespace(flags.state, flags.prefix);
  process.stdout.write(`${JSON.stringify({ dropped })}\n`);
  return 0;
}
