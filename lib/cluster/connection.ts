/**
 * Reaching Redis: BullMQ and ioredis are loaded on first use only (importing multiproc must not load
 * them, and they are optional peer dependencies), and every connection is made here with the settings
 * the cluster needs. Errors name the address, never the password.
 */
import type { Queue, Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';

/** ioredis options (host, port, username, password, db, tls, ...), passed through as given. */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  /** A Unix socket path instead of host and port. */
  path?: string;
  username?: string;
  password?: string;
  db?: number;
  /** Node's `tls.connect` options: set (even to `{}`) to talk TLS. */
  tls?: Record<string, unknown>;
  /** Any other ioredis option. */
  [option: string]: unknown;
}

/** Where Redis is: a `redis://` / `rediss://` URL, or ioredis options. */
export type ClusterConnection = string | RedisConnectionOptions;

export interface Libraries {
  Queue: typeof Queue;
  Worker: typeof Worker;
  Redis: typeof Redis;
}

let loading: Promise<Libraries> | null = null;

/** Loads bullmq and ioredis once; a missing one is named with the command that installs it. */
export function loadLibraries(): Promise<Libraries> {
  loading ??= (async () => {
    const missing = (name: string) => (err: unknown): never => {
      const code = (err as { code?: string })?.code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw new Error(`the cluster Pool needs the optional package '${name}': npm install bullmq ioredis`, { cause: err });
      }
      throw err;
    };
    const [bullmq, ioredis] = await Promise.all([import('bullmq').catch(missing('bullmq')), import('ioredis').catch(missing('ioredis'))]);
    return { Queue: bullmq.Queue, Worker: bullmq.Worker, Redis: ioredis.Redis };
  })();
  loading.catch(() => (loading = null)); // installed later: try again then
  return loading;
}

/** The address for messages: the URL without its password, or host:port / the socket path. */
export function describeAddress(connection: ClusterConnection): string {
  if (typeof connection === 'string') {
    try {
      const url = new URL(connection);
      url.password = '';
      url.username = '';
      return url.href.replace(/\/$/, '');
    } catch {
      return connection.replace(/\/\/[^@/]*@/, '//');
    }
  }
  if (connection.path) return `redis+unix://${connection.path}`;
  const scheme = connection.tls ? 'rediss' : 'redis';
  return `${scheme}://${connection.host ?? '127.0.0.1'}:${connection.port ?? 6379}${connection.db ? `/${connection.db}` : ''}`;
}

/** Checks a `connection` option; throws TypeError for anything else. */
export function checkConnection(connection: unknown): ClusterConnection {
  if (typeof connection === 'string') {
    if (!/^(redis|rediss):\/\//.test(connection)) {
      throw new TypeError(`connection must be a redis:// or rediss:// URL or ioredis options, got ${JSON.stringify(connection)}`);
    }
    return connection;
  }
  if (typeof connection !== 'object' || connection === null || Array.isArray(connection)) {
    throw new TypeError(`connection must be a redis:// URL or ioredis options, got ${connection === null ? 'null' : typeof connection}`);
  }
  return connection as RedisConnectionOptions;
}

/** A new ioredis client on `connection`, with `settings` over the user's own options. */
export function createRedis(libs: Libraries, connection: ClusterConnection, settings: RedisOptions): Redis {
  const redis = typeof connection === 'string'
    ? new libs.Redis(connection, settings)
    : new libs.Redis({ ...(connection as RedisOptions), ...settings });
  // Without a listener ioredis prints every connection error; its owner reports them instead.
  redis.on('error', () => {});
  return redis;
}

/**
 * Lets the connection's socket stop keeping the process alive (an idle client must not); what is pending
 * is kept alive by the engine's own KeepAlive instead. Done again at every reconnection.
 */
export function unrefSockets(redis: Redis): void {
  const unref = () => (redis as unknown as { stream?: { unref?: () => void } }).stream?.unref?.();
  redis.on('connect', unref);
  unref();
}

/** Redis's `run_id`: changes when the server restarts (its data may be gone). */
export async function serverRunId(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /run_id:(\w+)/.exec(info)?.[1] ?? '';
}

/** Whether `err` says the connection (not the command) failed. */
export function isConnectionError(err: unknown): boolean {
  const message = String((err as Error)?.message ?? '');
  const code = (err as { code?: string })?.code ?? '';
  return /Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|closed/i.test(message) ||
    /^E(CONN|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH)/.test(code);
}
