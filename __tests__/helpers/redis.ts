// A real redis-server for the cluster tests: started on a free port bound to 127.0.0.1 (or another address,
// inside a network namespace), never a system service; killed with the test process if that dies first.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { reapWithParent, forgetChild } from '../../lib/base/reaper.js';

/** A TCP port nobody listens on now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisOptions {
  port?: number;
  bind?: string;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** requirepass */
  password?: string;
}

export class RedisServer {
  readonly port: number;
  readonly bind: string;
  readonly #netns: string | undefined;
  readonly #password: string | undefined;
  #proc: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  readonly #clients: Redis[] = [];

  private constructor(port: number, bind: string, netns: string | undefined, password: string | undefined) {
    this.port = port;
    this.bind = bind;
    this.#netns = netns;
    this.#password = password;
  }

  /** Starts redis-server and resolves once it accepts connections. */
  static async start(options: RedisOptions = {}): Promise<RedisServer> {
    const bind = options.bind ?? '127.0.0.1';
    const server = new RedisServer(options.port ?? (await freePort()), bind, options.netns, options.password);
    await server.#launch();
    return server;
  }

  /** The URL, with the password when there is one. */
  get url(): string {
    return `redis://${this.#password ? `:${encodeURIComponent(this.#password)}@` : ''}${this.bind}:${this.port}`;
  }

  async #launch(): Promise<void> {
    const args = [
      '--port', String(this.port), '--bind', this.bind, '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--protected-mode', 'no', '--daemonize', 'no', '--dir', '/tmp',
      ...(this.#password ? ['--requirepass', this.#password] : []),
    ];
    const [cmd, argv] = this.#netns ? ['ip', ['netns', 'exec', this.#netns, 'redis-server', ...args]] : ['redis-server', args];
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    reapWithParent(proc.pid);
    this.#exited = new Promise((resolve) => proc.once('exit', () => {
      forgetChild(proc.pid);
      resolve();
    }));
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
      const onData = (chunk: Buffer) => {
        log += chunk;
        if (log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          proc.stdout!.off('data', onData);
          proc.stdout!.resume();
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (chunk) => (log += chunk));
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${log}`));
      });
    });
  }

  /** An ioredis client for looking at what the server holds; closed by stop(). */
  client(): Redis {
    const redis = new Redis(this.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => {});
    this.#clients.push(redis);
    return redis;
  }

  /** Kills the server at once (SIGKILL): what it held is gone. */
  async kill(): Promise<void> {
    this.#proc?.kill('SIGKILL');
    this.resume();
    await this.#exited;
    this.#proc = null;
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open and nothing is answered, as a hung Redis. Until
   * resume(); stop() and kill() resume it first.
   */
  pause(): void {
    this.#proc?.kill('SIGSTOP');
  }

  /** Lets a paused server go on (SIGCONT). */
  resume(): void {
    this.#proc?.kill('SIGCONT');
  }

  /** Starts it again on the same port, empty. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#launch();
  }

  async stop(): Promise<void> {
    for (const redis of this.#clients.splice(0)) redis.disconnect();
    this.resume(); // a frozen server would not act on SIGTERM
    this.#proc?.kill('SIGTERM');
    await this.#exited;
    this.#proc = null;
  }
}

export { until } from './until.js';
