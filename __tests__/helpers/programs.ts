// Runs a small ESM program in a fresh node (with tsx, so it can import the TypeScript sources), for
// behaviour only a whole program shows: exit codes, output at exit, what keeps it alive.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const libUrl = new URL('../../lib/index.ts', import.meta.url).href;

export interface ProgramResult {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProgramOptions {
  /** Node flags before the program (e.g. --max-old-space-size=512). */
  execArgv?: string[];
  env?: Record<string, string | undefined>;
  timeout?: number;
}

function argv(source: string, opts: ProgramOptions): string[] {
  return [...(opts.execArgv ?? []), '--import', 'tsx', '--input-type=module', '-e', source];
}

function env(opts: ProgramOptions): Record<string, string | undefined> {
  return { ...process.env, NODE_OPTIONS: '', ...opts.env };
}

/** Runs the program to its end (synchronously: the test waits anyway). */
export function runProgram(source: string, opts: ProgramOptions = {}): ProgramResult {
  const res = spawnSync(process.execPath, argv(source, opts), { encoding: 'utf8', timeout: opts.timeout ?? 30000, env: env(opts) });
  return { stdout: res.stdout, stderr: res.stderr, status: res.status, signal: res.signal };
}

/** Starts the program; `lines` yields its stdout lines as they come. */
export function startProgram(source: string, opts: ProgramOptions = {}) {
  const child = spawn(process.execPath, argv(source, opts), { env: env(opts), stdio: ['ignore', 'pipe', 'pipe'] });
  let buffered = '';
  const waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buffered += d;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      for (const w of [...waiters]) {
        if (w.match.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    get stderr() {
      return stderr;
    },
    /** Resolves with the first stdout line matching `match` from now on. */
    line(match: RegExp): Promise<string> {
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

/**
 * Runs a TypeScript program file in a fresh node; resolves once every holder of its output pipes has closed
 * them (daemon children included), so all they printed on their way out has arrived (a gate, not a sleep).
 */
export function runFile(program: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', program], {
      cwd: new URL('../..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * {@link runFile} for each program, at most `concurrency` at a time (a loaded machine starts workers
 * slowly, and programs that time things, as tutorials' do, need them started in time); keyed by program.
 */
export function runFiles(programs: readonly string[], concurrency: number): Map<string, ReturnType<typeof runFile>> {
  const queue = [...programs];
  const starts = new Map<string, (run: ReturnType<typeof runFile>) => void>();
  const runs = new Map(programs.map((p) => [p, new Promise<Awaited<ReturnType<typeof runFile>>>((resolve) => starts.set(p, (run) => void run.then(resolve)))]));
  const next = (): void => {
    const program = queue.shift();
    if (program === undefined) return;
    const run = runFile(program);
    starts.get(program)!(run);
    void run.then(next);
  };
  for (let i = 0; i < concurrency; i++) next();
  return runs;
}

/** Whether a process with this pid is alive: it exists and is not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two looks
  }
}

/** Polls `check` every 20 ms until it is true or `ms` pass; resolves with the last answer. */
export async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
