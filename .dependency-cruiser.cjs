/**
 * The layers, as rules (docs/architecture.md draws them). Data flows down, never back up:
 *   public faces (lib/index.ts, lib/python.ts, lib/cluster/index.ts)
 *   → lib/pool.ts, lib/process.ts, lib/executor.ts ... → lib/engine/ → lib/protocol/ ← lib/worker/
 *   lib/engine/, lib/process*.ts → lib/runtime/ (one adapter per runtime: start, wrap, options)
 *   → primitives/ (root concept files → manager/ → channel/, sync/ → transport/ → kernel/) → lib/base/
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
    // Inside primitives/, top to bottom: the concept files at the root (connection.ts, queues.ts,
    // synchronize.ts, sharedctypes.ts, ...) → manager/ → channel/, sync/ → transport/ → kernel/.
    // A folder imports only itself and the folders below it; where a lower one must call up (a
    // blocking wait that drains the transport's lanes, rebuilding a core by class name), the upper
    // one registers a hook with it at load time.
    {
      name: 'primitives-kernel-is-the-bottom',
      severity: 'error',
      comment: 'primitives/kernel (waits, owners, frames, the facade/core contract, worker ends) is what every primitive leans on: it imports no other part of primitives/.',
      from: { path: '^primitives/kernel/' },
      to: { path: '^primitives/', pathNot: '^primitives/kernel/' },
    },
    {
      name: 'primitives-transport-below-cores',
      severity: 'error',
      comment: 'primitives/transport (broker, sockets, remote cores, reduction) carries any core and knows none: it imports only itself and kernel/.',
      from: { path: '^primitives/transport/' },
      to: { path: '^primitives/', pathNot: '^primitives/(transport|kernel)/' },
    },
    {
      name: 'primitives-channel-sync-below-manager',
      severity: 'error',
      comment: 'primitives/channel and primitives/sync (the cores and their facades) import only themselves, transport/ and kernel/: not each other, the manager or the root concept files.',
      from: { path: '^primitives/(channel|sync)/' },
      to: { path: '^primitives/', pathNot: ['^primitives/$1/', '^primitives/(transport|kernel)/'] },
    },
    {
      name: 'primitives-manager-below-concepts',
      severity: 'error',
      comment: 'primitives/manager hosts the cores of channel/ and sync/; the root concept files re-export it, never the reverse.',
      from: { path: '^primitives/manager/' },
      to: { path: '^primitives/[^/]+$' },
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
      name: 'runtime-below-engine-and-process',
      severity: 'error',
      comment: 'lib/runtime (how a thread or child process is started, wrapped and configured) serves the engine and Process; it imports only lib/base.',
      from: { path: '^lib/runtime/' },
      to: { path: '^(lib|primitives)/', pathNot: ['^lib/runtime/', base] },
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
