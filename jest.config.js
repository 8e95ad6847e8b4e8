/**
 * Jest in ESM mode (tinypool and our worker code are ESM-only), as four projects:
 * - unit:        in-process tests of one module (codecs, frames, futures, type surface)
 * - integration: real workers, child processes, manager processes and sockets
 * - cluster:     the BullMQ/Redis cluster (needs redis-server on PATH)
 * - netns:       cluster hosts in network namespaces (needs root and iproute2 as well)
 * `npm test` (scripts/test.mjs) picks the projects this machine can run and says loudly which it skips.
 */
const common = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
};

const unit = ['executor-future', 'queues.ring', 'transport.wire', 'python.types', 'bench.report', 'test-runner'].map(
  (name) => `**/__tests__/${name}.test.ts`,
);
const netns = ['**/__tests__/*.netns.test.ts'];
const cluster = ['**/__tests__/cluster.*.test.ts'];

export default {
  maxWorkers: 2,
  testTimeout: 30000,
  projects: [
    { ...common, displayName: 'unit', testMatch: unit },
    { ...common, displayName: 'integration', testMatch: ['**/__tests__/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', ...unit, ...cluster, ...netns].map(globToRegex) },
    { ...common, displayName: 'cluster', testMatch: cluster, testPathIgnorePatterns: ['/node_modules/', ...netns].map(globToRegex) },
    { ...common, displayName: 'netns', testMatch: netns },
  ],
};

/** testPathIgnorePatterns takes regexes; the lists above are globs of one directory level. */
function globToRegex(glob) {
  if (glob.startsWith('/')) return glob;
  return glob.replace(/^\*\*\//, '/').replace(/\./g, '\\.').replace(/\*/g, '[^/]*') + '$';
}
