// The set-up every cluster test file shares, written once: a real redis-server, an authkey file made from
// a name, a scratch folder, worker hosts and cluster Pools started on demand, and one teardown (afterAll)
// that terminates the pools, stops the hosts and the server, and removes the files.
import { afterAll, beforeAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Pool, readAuthkey, type ClusterPoolOptions } from '../../lib/cluster/index.js';
import { RedisServer } from './redis.js';
import { HostProcess, keyFile, type HostOptions } from './redis-hosts.js';

export interface ClusterFixture {
  readonly redis: RedisServer;
  /** The authkey file the hosts read, and its key. */
  readonly keyPath: string;
  readonly authkey: Uint8Array;
  /** A folder for the test's own files. */
  readonly scratch: string;
  /** The hosts started through host(), in order. */
  readonly hosts: readonly HostProcess[];
  /** Starts a `multiproc worker` host (on this Redis and with this key unless told otherwise); resolves once it serves. */
  host(options?: Omit<HostOptions, 'keyFile'> & { keyFile?: string; url?: string }): Promise<HostProcess>;
  /** A cluster Pool on this Redis with this key. */
  pool(options?: Partial<ClusterPoolOptions>): Pool;
}

/** Registers the set-up (beforeAll) and teardown (afterAll) of a cluster test file; `keyName` makes its authkey. */
export function useCluster(keyName: string): ClusterFixture {
  let redis: RedisServer | undefined;
  let keyPath: string | undefined;
  let authkey: Uint8Array | undefined;
  let scratch: string | undefined;
  const hosts: HostProcess[] = [];
  const pools: Pool[] = [];
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the cluster fixture is used before its beforeAll ran');
    return value;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    keyPath = keyFile(keyName);
    authkey = readAuthkey(keyPath);
    scratch = mkdtempSync(join(tmpdir(), 'multiproc-cluster-'));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.terminate()));
    await Promise.all(hosts.map((h) => h.stop()));
    await redis?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    if (keyPath) rmSync(dirname(keyPath), { recursive: true, force: true });
  }, 30_000);

  return {
    get redis() {
      return ready(redis);
    },
    get keyPath() {
      return ready(keyPath);
    },
    get authkey() {
      return ready(authkey);
    },
    get scratch() {
      return ready(scratch);
    },
    hosts,
    async host({ url, ...options } = {}) {
      const h = await HostProcess.start(url ?? ready(redis).url, { keyFile: ready(keyPath), ...options });
      hosts.push(h);
      return h;
    },
    pool(options = {}) {
      const p = new Pool({ connection: ready(redis).url, authkey: ready(authkey), ...options });
      pools.push(p);
      return p;
    },
  };
}
