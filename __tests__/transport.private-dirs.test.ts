/**
 * The private socket directories (`$TMPDIR/multiproc-<pid>-*`) of brokers and Manager servers do not
 * outlive their process, however it ends: removed at a normal exit, by the reaper when the process is
 * killed (SIGKILL, SIGTERM, Ctrl-C to the process group), and, when even the reaper was killed, swept
 * by the next program that makes one (the owner pid in the name is dead).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { until } from './helpers/until.js';

const program = fileURLToPath(new URL('./fixtures/private-dir-program.ts', import.meta.url));
let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pdirs-test-'));
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  /** The first line the program prints. */
  first: Promise<string>;
  /** Exit code and signal, once every holder of its output pipes has closed them. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>;
}

/** Starts the program in a process group of its own, with TMPDIR = the test's directory. */
function start(mode: string): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', program, mode], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', TMPDIR: tmp },
    detached: true,
  });
  let out = '';
  let err = '';
  const first = new Promise<string>((resolve) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const i = out.indexOf('\n');
      if (i >= 0) resolve(out.slice(0, i));
    });
  });
  child.stderr!.on('data', (d) => (err += d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((resolve) => {
    let exit: { code: number | null; signal: NodeJS.Signals | null } = { code: null, signal: null };
    child.on('exit', (code, signal) => (exit = { code, signal }));
    child.on('close', () => resolve({ ...exit, err }));
  });
  return { child, first, closed };
}

function socketDirs(): string[] {
  // socket directories only: the .ts compile cache (multiproc-ts-<uid>) is kept on purpose
  return readdirSync(tmp).filter((n) => /^multiproc-\d+-/.test(n)).sort();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


test('a Manager server killed with SIGKILL, then the program stopped with Ctrl-C: no directory is left, the exit is SIGINT', async () => {
  const run = start('serve');
  const { pid, managerPid } = JSON.parse(await run.first) as { pid: number; managerPid: number };
  const mine = (p: number) => socketDirs().filter((n) => n.startsWith(`multiproc-${p}-`));
  expect(mine(managerPid)).toHaveLength(1);
  expect(mine(pid).length).toBeGreaterThanOrEqual(1); // the broker's
  process.kill(managerPid, 'SIGKILL');
  await until(() => mine(managerPid).length === 0, 20_000, 'the killed manager\'s directory is removed');
  process.kill(-pid, 'SIGINT'); // Ctrl-C: the whole process group
  const { signal, err } = await run.closed;
  expect(signal).toBe('SIGINT');
  // a child Process reports Ctrl-C as Python's does (its name, then KeyboardInterrupt); nothing else
  expect(err.replace(/^Process [^\n]*:\nKeyboardInterrupt\n/gm, '')).toBe('');
  await until(() => socketDirs().length === 0, 20_000, 'every directory is removed');
}, 90_000);

test('a program killed with SIGTERM leaves no directory (its Manager server ends with it)', async () => {
  const run = start('serve');
  const { pid, managerPid } = JSON.parse(await run.first) as { pid: number; managerPid: number };
  expect(socketDirs().length).toBeGreaterThanOrEqual(2);
  process.kill(pid, 'SIGTERM');
  const { signal } = await run.closed;
  expect(signal).toBe('SIGTERM');
  await until(() => !alive(managerPid) && socketDirs().length === 0, 20_000, 'every directory is removed');
}, 90_000);

test('directories left by a process group killed outright are swept by the next program; a live owner\'s stay', async () => {
  const run = start('serve');
  const { pid } = JSON.parse(await run.first) as { pid: number };
  const left = socketDirs();
  expect(left.length).toBeGreaterThanOrEqual(2);
  process.kill(-pid, 'SIGKILL'); // everything, the reapers too: nobody is left to clean up
  await run.closed;
  expect(socketDirs()).toEqual(left);
  const live = `multiproc-${process.pid}-keep01`; // owned by this (live) process
  mkdirSync(join(tmp, live), { mode: 0o700 });
  // A dead pid's name, but a server answers on its socket (its owner may be in another pid namespace).
  const gone = spawn('true');
  await new Promise((r) => gone.on('exit', r));
  const answering = `multiproc-${gone.pid}-keep02`;
  mkdirSync(join(tmp, answering), { mode: 0o700 });
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(join(tmp, answering, 's'), r));
  // Wait until every process of the killed group has gone (the sweep spares a live owner's directory).
  const owners = left.map((n) => Number(/^multiproc-(\d+)-/.exec(n)![1]));
  await until(() => !owners.some(alive), 20_000, 'the killed processes are gone');
  const next = start('once');
  const { code, err } = await next.closed;
  expect(err).toBe('');
  expect(code).toBe(0);
  await new Promise((r) => server.close(r));
  expect(socketDirs()).toEqual([live, answering].sort());
}, 120_000);

test('Ctrl-C does not stop a Manager server (as in Python): a program that catches it still uses its proxies', async () => {
  const run = start('interrupt');
  let out = '';
  run.child.stdout!.on('data', (d) => (out += d));
  expect(await run.first).toBe('ready');
  process.kill(-run.child.pid!, 'SIGINT');
  const { code, err } = await run.closed;
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out.trim().split('\n').pop()).toBe('{"answer":42}');
  expect(socketDirs()).toEqual([]);
}, 60_000);
