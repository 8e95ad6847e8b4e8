/**
 * multiproc/cluster: the Pool on a cluster of hosts, over BullMQ and Redis (docs/cluster.md). Worker hosts
 * run `npx multiproc worker`. The public face: re-exports only.
 */
export { Pool, readAuthkey, DEFAULT_IN_FLIGHT, MIN_AUTHKEY_BYTES, type ClusterPoolOptions, type ClusterApplyOptions, type ClusterMapOptions, type ClusterImapOptions, type ClusterConnection, type RedisConnectionOptions } from './pool.js';
export type { HostStats } from './engine.js';
export { WorkerHost, type WorkerHostOptions, type WorkerHostCounts } from './worker-host.js';
export type { MapOptions, ApplyOptions, MapAsyncOptions, PoolStats, TimeSummary } from '../pool-base.js';
