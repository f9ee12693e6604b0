// Folders depend one way: core ← model ← operators ← pipeline (docs/ARCHITECTURE.md, "Layers").
// bench/ and test/ sit on top and may import anything; the CLI reaches bench/ through one lazy import.
// Type-only imports count too (tsPreCompilationDeps): a contract that points upward is still upward.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-a-leaf',
      comment: 'core/ (contracts, errors, paths) imports nothing of rnnstream: everything else builds on it.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(model|operators|pipeline|bench|test|scripts)/' },
    },
    {
      name: 'model-on-core-only',
      comment: 'model/ (the engine) imports only core/.',
      severity: 'error',
      from: { path: '^model/' },
      to: { path: '^(operators|pipeline|bench|test|scripts)/' },
    },
    {
      name: 'operators-on-core-and-model',
      comment: 'operators/ import only core/ and model/ (they get their I/O as functions from the pipeline).',
      severity: 'error',
      from: { path: '^operators/' },
      to: { path: '^(pipeline|bench|test|scripts)/' },
    },
    {
      name: 'pipeline-not-bench',
      comment: 'pipeline/ never imports bench/ or test/, but for the CLI loading the bench sub-commands.',
      severity: 'error',
      from: { path: '^pipeline/', pathNot: '^pipeline/cli\\.ts$' },
      to: { path: '^(bench|test|scripts)/' },
    },
    {
      name: 'cli-loads-bench-commands-lazily',
      comment: 'pipeline/cli.ts reaches bench/ only by a dynamic import of bench/commands.ts (the bench command).',
      severity: 'error',
      from: { path: '^pipeline/cli\\.ts$' },
      to: { path: '^(bench|test|scripts)/', pathNot: '^bench/commands\\.ts$' },
    },
    {
      name: 'cli-bench-import-is-dynamic',
      comment: 'A static import of bench/commands.ts would load it for every command.',
      severity: 'error',
      from: { path: '^pipeline/cli\\.ts$' },
      to: { path: '^bench/commands\\.ts$', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import of ours that does not resolve is a typo or a moved file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages' "exports" as Node does for ES modules (csv-parse/sync has no CommonJS main).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
