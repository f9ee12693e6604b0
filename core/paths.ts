/**
 * Paths inside the installed package (the shipped model, examples), found the same way whether the
 * code runs compiled from dist/ or from the TypeScript sources.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding rnnstream's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'models'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the rnnstream package root (package.json beside models/)');
    dir = parent;
  }
  root = dir;
  return root;
}

/** The shipped default model package. */
export function defaultModelDir(): string {
  return join(packageRoot(), 'models', 'sentiment');
}
