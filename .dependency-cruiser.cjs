// Folders depend one way: core ← model ← operators ← pipeline (docs/ARCHITECTURE.md, "Layers").
// bench/ and test/ sit on top and may import anything; the CLI reaches bench/ through one lazy import.
// Type-only imports count too (tsPreCompilationDeps): a contract that points upward is still upward.
const OURS = ['core', 'model', 'operators', 'pipeline', 'bench', 'test', 'scripts'];

/** The lower layers and what each may import of ours besides itself. */
const LAYERS = {
  core: { may: [], why: 'core/ (contracts, errors, paths) imports nothing of rnnstream: all else builds on it.' },
  model: { may: ['core'], why: 'model/ (the engine) imports only core/.' },
  operators: { may: ['core', 'model'], why: 'operators/ import core/ and model/; their I/O comes as functions.' },
};
const above = (folders) => `^(${folders.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...Object.entries(LAYERS).map(([folder, { may, why }]) => ({
      name: may.length ? `${folder}-imports-only-${may.join('-')}` : `${folder}-is-a-leaf`,
      comment: why,
      severity: 'error',
      from: { path: `^${folder}/` },
      to: { path: above(OURS.filter((f) => f !== folder && !may.includes(f))) },
    })),
    {
      name: 'pipeline-not-bench',
      comment: 'pipeline/ never imports bench/ or test/, but for the CLI loading the bench sub-commands.',
      severity: 'error',
      from: { path: '^pipeline/', pathNot: '^pipeline/cli\\.ts$' },
      to: { path: above(['bench', 'test', 'scripts']) },
    },
    {
      name: 'cli-reaches-bench-by-its-commands-only',
      comment: 'pipeline/cli.ts imports of bench/ only bench/commands.ts (the bench sub-commands).',
      severity: 'error',
      from: { path: '^pipeline/cli\\.ts$' },
      to: { path: above(['bench', 'test', 'scripts']), pathNot: '^bench/commands\\.ts$' },
    },
    {
      name: 'cli-imports-bench-lazily',
      comment: 'A static import of bench/commands.ts would load it for every command: only `bench` loads it.',
      severity: 'error',
      from: { path: '^pipeline/cli\\.ts$' },
      to: { path: '^bench/commands\\.ts$', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a moved file.',
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
