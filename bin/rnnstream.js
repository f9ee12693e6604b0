#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `prepare` on install).
import('../dist/pipeline/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/pipeline/cli.js')) {
    console.error('rnnstream: not built yet; run `npm run build` (or `npm ci`, which builds) first');
    process.exit(2);
  }
  throw err;
});
