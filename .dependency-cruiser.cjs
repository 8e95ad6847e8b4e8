/**
 * The layers, as rules (docs/architecture.md draws them). Data flows down, never back up:
 *   public faces (lib/index.ts, lib/python.ts, lib/cluster/index.ts)
 *   → lib/pool.ts, lib/process.ts, lib/executor.ts ... → lib/engine/ → lib/protocol/ ← lib/worker/
 *   → primitives/ (concepts → channel, sync, transport, manager → kernel) → lib/base/
 * `npm run lint` runs these; .ci/run runs `npm run lint`.
 */
const base = '^lib/base/';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'A cycle makes load order matter and layers meaningless.', from: {}, to: { circular: true } },
    {
      name: 'base-is-the-bottom',
      severity: 'error',
      comment: 'lib/base (errors, codec, timeouts, runtime hooks) serves lib/ and primitives/ and imports neither.',
      from: { path: base },
      to: { path: '^(lib|primitives)/', pathNot: base },
    },
    {
      name: 'primitives-below-lib',
      severity: 'error',
      comment: 'Primitives are written against lib/base only: the Pool may use them, never the reverse.',
      from: { path: '^primitives/' },
      to: { path: '^lib/', pathNot: base },
    },
    {
      name: 'worker-side-imports-nothing-user-facing',
      severity: 'error',
      comment: 'Code that runs inside a worker must not load the Pool, Process, executors or the cluster.',
      from: { path: '^lib/worker/' },
      to: { path: '^lib/', pathNot: ['^lib/worker/', base, '^lib/protocol/'] },
    },
    {
      name: 'engine-does-not-import-worker',
      severity: 'error',
      comment: 'The parent side (engine) and the worker side meet in lib/protocol only.',
      from: { path: '^lib/engine/' },
      to: { path: '^lib/worker/' },
    },
    {
      name: 'cluster-behind-its-own-face',
      severity: 'error',
      comment: "The cluster (bullmq/ioredis) loads only through 'multiproc/cluster', never from the root import.",
      from: { path: '^(lib|primitives)/', pathNot: '^lib/cluster/' },
      to: { path: '^lib/cluster/' },
    },
    {
      name: 'no-orphans',
      severity: 'warn',
      comment: 'A module nothing imports is dead code or a missing entry point.',
      from: { orphan: true, pathNot: ['\\.d\\.ts$', '^lib/(index|python)\\.ts$', '^lib/cluster/(index|cli)\\.ts$', '^lib/worker/'] },
      to: {},
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)' },
  },
};
