#!/usr/bin/env node
/**
 * The `multiproc` command: `multiproc worker` serves a cluster Pool's queue on this host (worker-host.ts).
 * Prints one status line a minute; stops gracefully on SIGTERM/SIGINT (a second one stops at once).
 */
import type * as Util from 'node:util';
import { builtin } from '../base/builtin.js';
import { cpuCount } from '../base/context.js';
import { checkAuthkey, checkQueueName, readAuthkey } from './pool.js';
import { checkConnection, describeAddress } from './connection.js';
import { WorkerHost } from './worker-host.js';

const USAGE = `usage: multiproc worker --connection redis://host:6379 [options]

Serves the tasks of cluster Pools (import { Pool } from 'multiproc/cluster') on this host.

options:
  --connection URL        Redis (redis:// or rediss://); or set MULTIPROC_REDIS_URL
                          (keeps a password out of the process list)
  --authkey-file FILE     the cluster's authkey (its bytes, less a trailing newline);
                          or set MULTIPROC_AUTHKEY_FILE
  --queue NAME            the queue to serve (default: multiproc)
  --concurrency N         tasks run at once: local workers (default: CPUs, ${cpuCount()} here)
  --runtime thread|process  local workers are threads (default) or processes
  --lock-duration MS      a host silent this long is taken for dead and its tasks run
                          elsewhere (default: 5000)
  --stalled-interval MS   how often hosts look for those tasks (default: lock-duration / 2)
  --status-interval S     seconds between status lines (default: 60)
`;

class UsageError extends Error {}

function integer(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function parseWorkerArgs(args: string[]) {
  const { values } = builtin<typeof Util>('node:util').parseArgs({
    args,
    strict: true,
    options: {
      connection: { type: 'string' },
      'authkey-file': { type: 'string' },
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      runtime: { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'status-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const url = values.connection ?? process.env.MULTIPROC_REDIS_URL;
  if (!url) throw new UsageError('--connection is required (or MULTIPROC_REDIS_URL)');
  const keyFile = values['authkey-file'] ?? process.env.MULTIPROC_AUTHKEY_FILE;
  if (!keyFile) throw new UsageError('--authkey-file is required (or MULTIPROC_AUTHKEY_FILE): the key the cluster Pool was given');
  const runtime = values.runtime ?? 'thread';
  if (runtime !== 'thread' && runtime !== 'process') throw new UsageError(`--runtime must be thread or process, got ${JSON.stringify(runtime)}`);
  const lockDuration = integer(values['lock-duration'], 'lock-duration', 100);
  return {
    connection: asUsage(() => checkConnection(url)),
    queue: asUsage(() => checkQueueName(values.queue)),
    authkey: asUsage(() => checkAuthkey(readAuthkey(keyFile)), `--authkey-file ${keyFile}: `),
    runtime: runtime as 'thread' | 'process',
    concurrency: integer(values.concurrency, 'concurrency', 1) ?? cpuCount(),
    lockDuration,
    stalledInterval: integer(values['stalled-interval'], 'stalled-interval', 10),
    statusSeconds: integer(values['status-interval'], 'status-interval', 1) ?? 60,
  };
}

/** A check's error, as a usage error (printed with the usage, exit code 2). */
function asUsage<T>(check: () => T, prefix = ''): T {
  try {
    return check();
  } catch (err) {
    throw new UsageError(prefix + (err as Error).message);
  }
}

async function worker(args: string[]): Promise<number> {
  const options = parseWorkerArgs(args);
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let host: WorkerHost;
  try {
    host = await WorkerHost.start({ ...options, log });
  } catch (err) {
    log(`multiproc worker: ${(err as Error).message}`); // the message only, never the error object (its command holds the password)
    return 1;
  }
  log(`multiproc worker pid ${process.pid}: serving queue '${options.queue}' at ${describeAddress(options.connection)} ` +
    `with ${options.concurrency} ${options.runtime} workers`);
  const status = setInterval(() => log(host.status()), options.statusSeconds * 1000);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log(`multiproc worker: ${signal} again, stopping now (running tasks will run again on another host)`);
        clearInterval(status);
        void host.kill().then(() => resolve(1));
        return;
      }
      stopping = true;
      log(`multiproc worker: ${signal}, stopping: finishing ${host.counts.running} running tasks, handing back the others`);
      void host.close().then(() => {
        clearInterval(status);
        log(host.status());
        resolve(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'worker') {
    process.stderr.write(`multiproc: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await worker(rest);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`multiproc worker: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
