// Worker hosts for the cluster tests: real `multiproc worker` processes (from the sources, through tsx),
// with short lock and stalled intervals so a dead host is noticed in about a second.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reapWithParent, forgetChild } from '../../lib/base/reaper.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(repoRoot, 'lib/cluster/cli.ts');

/**
 * Writes an authkey file made from `name` (its SHA-256 in hex, 64 bytes: each name its own key, long
 * enough to be accepted), with a trailing newline as `openssl rand -hex 32 >` writes, and returns its path.
 */
export function keyFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-key-'));
  const file = join(dir, 'cluster.key');
  writeFileSync(file, `${createHash('sha256').update(name).digest('hex')}\n`, { mode: 0o600 });
  return file;
}

export interface HostOptions {
  keyFile: string;
  queue?: string;
  concurrency?: number;
  runtime?: 'thread' | 'process';
  lockDuration?: number;
  statusInterval?: number;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
}

/** A `multiproc worker` process. */
export class HostProcess {
  readonly proc: ChildProcess;
  /** Everything it printed on stderr so far. */
  log = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    reapWithParent(proc.pid);
    proc.stderr!.on('data', (chunk) => (this.log += chunk));
    proc.stdout!.resume();
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      forgetChild(proc.pid);
      resolve({ code, signal });
    }));
  }

  /** Starts a host serving `url` and resolves once it serves. */
  static async start(url: string, options: HostOptions): Promise<HostProcess> {
    const args = [
      '--import', 'tsx', cli, 'worker', '--connection', url, '--authkey-file', options.keyFile,
      '--concurrency', String(options.concurrency ?? 2), '--runtime', options.runtime ?? 'thread',
      '--lock-duration', String(options.lockDuration ?? 1000), '--stalled-interval', String(Math.max(100, (options.lockDuration ?? 1000) / 2)),
      ...(options.queue ? ['--queue', options.queue] : []),
      ...(options.statusInterval ? ['--status-interval', String(options.statusInterval)] : []),
    ];
    const [cmd, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, process.execPath, ...args]] : [process.execPath, args];
    const proc = spawn(cmd, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    const host = new HostProcess(proc);
    await host.waitFor(/serving queue/, 90_000); // tsx compiles the sources first: slow on a loaded machine
    return host;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resolves once stderr matches `pattern` (told by its output, not polled); rejects if the host ends first or `ms` pass. */
  waitFor(pattern: RegExp, ms = 10_000): Promise<void> {
    if (pattern.test(this.log)) return Promise.resolve();
    const { proc } = this;
    if (proc.exitCode !== null || proc.signalCode !== null) return Promise.reject(new Error(`host exited before printing ${pattern}:\n${this.log}`));
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        proc.stderr!.off('data', onData);
        proc.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      // added after the constructor's listener: this.log already holds the chunk
      const onData = () => {
        if (pattern.test(this.log)) done();
      };
      // 'close' comes once its output is all read: nothing it printed is missed
      const onClose = () => (pattern.test(this.log) ? done() : done(new Error(`host exited before printing ${pattern}:\n${this.log}`)));
      const timer = setTimeout(() => done(new Error(`host did not print ${pattern} in ${ms} ms:\n${this.log}`)), ms);
      proc.stderr!.on('data', onData);
      proc.once('close', onClose);
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.proc.kill(signal);
    return this.exited;
  }

  /** Stops it gracefully (SIGTERM), or kills it after `ms`. */
  async stop(ms = 10_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}
