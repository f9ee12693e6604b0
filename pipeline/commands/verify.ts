/**
 * `rnnstream verify --reference DIR…`: reference vectors (PyTorch) fed whole and in random chunks; exit 1
 * when any case exceeds its tolerance.
 */
import { existsSync, statSync } from 'node:fs';
import { ConfigError } from '../../core/errors.js';
import type { BackendName } from '../../model/backend.js';
import { formatVerifyReport, verifyReferences } from '../../model/verify.js';

/** Runs the verification; resolves to the exit code. */
export async function verifyCommand(flags: {
  reference: string[];
  backend: string;
  seed: string;
}): Promise<number> {
  const seed = Number(flags.seed);
  if (!Number.isInteger(seed)) throw new ConfigError(`--seed: expected an integer, got "${flags.seed}"`);
  // `--reference dir/*` also expands to files beside the case folders (a README): skip regular files.
  const dirs = flags.reference.filter((path) => !(existsSync(path) && statSync(path).isFile()));
  if (dirs.length === 0)
    throw new ConfigError(
      '--reference: no case folders given (each holds weights.safetensors and case.json)',
    );
  const result = await verifyReferences(dirs, { backend: flags.backend as BackendName, seed });
  process.stdout.write(`${formatVerifyReport(result)}\n`);
  return result.ok ? 0 : 1;
}
