#!/usr/bin/env node
// Runs the test suites with node's test runner through tsx and ends with a one-line summary CI can read
// ("N passed, N failed"). Usage: node scripts/run-tests.mjs [unit|integration|fault|all] (default: all
// three). Test files run one process each, two at a time (this machine has 2 cores).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const suites = { unit: ['test/unit'], integration: ['test/integration'], fault: ['test/fault'] };
const asked = process.argv.slice(2);
const dirs = (
  asked.length === 0
    ? ['unit', 'integration', 'fault']
    : asked.flatMap((a) => (a === 'all' ? ['unit', 'integration', 'fault'] : [a]))
).flatMap((name) => {
  if (!suites[name]) {
    console.error(`run-tests: unknown suite "${name}" (use unit, integration, fault, all)`);
    process.exit(2);
  }
  return suites[name];
});

function findTests(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = dirs.flatMap(findTests);
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/summary-reporter.mjs',
  '--test-reporter-destination=stderr',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  '--test-timeout=600000',
  ...files,
];
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  env: { RNNSTREAM_LOG_LEVEL: 'error', ...process.env, NODE_ENV: 'test' },
});
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
