// Keys are keys, not passwords: the cluster Pool and the worker command refuse authkeys under 32 bytes,
// and a key file its group or others may read draws a warning.
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, readAuthkey } from '../lib/cluster/index.js';
import { repoRoot } from './helpers/redis-hosts.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'multiproc-keys-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeKey(name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

test('the Pool refuses an authkey under 32 bytes with a RangeError that says how to make one', () => {
  const connection = 'redis://127.0.0.1:1';
  for (const key of [new Uint8Array([1]), new TextEncoder().encode('password'), new Uint8Array(31)]) {
    expect(() => new Pool({ connection, authkey: key })).toThrow(RangeError);
    expect(() => new Pool({ connection, authkey: key })).toThrow(/at least 32 random bytes.*openssl rand -hex 32/);
  }
  const pool = new Pool({ connection, authkey: new Uint8Array(32) });
  void pool.terminate();
});

test('a key file its group or others may read draws a MultiprocClusterWarning; mode 600 does not', () => {
  const warnings: string[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation((w: string | Error, type?: unknown) => {
    warnings.push(`${String(type)}: ${String(w)}`);
  });
  try {
    const open = writeKey('open.key', 'a'.repeat(64) + '\n', 0o644);
    expect(readAuthkey(open)).toHaveLength(64);
    expect(warnings).toEqual([expect.stringMatching(/^MultiprocClusterWarning: the authkey file .*open\.key may be read by its group or others \(mode 644\)/)]);
    warnings.length = 0;
    readAuthkey(writeKey('closed.key', 'b'.repeat(64) + '\n'));
    expect(warnings).toEqual([]);
  } finally {
    spy.mockRestore();
  }
});

test('the worker command exits 2 on a short key file, and warns on an open one', () => {
  const cli = (keyFile: string) => spawnSync(process.execPath, [join(repoRoot, 'dist/lib/cluster/cli.js'), 'worker', '--connection', 'redis://127.0.0.1:1', '--authkey-file', keyFile, '--concurrency', 'x'], {
    cwd: repoRoot, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '', MULTIPROC_REDIS_URL: '', MULTIPROC_AUTHKEY_FILE: '' },
  });
  const short = cli(writeKey('short.key', 'password\n'));
  expect(short.status).toBe(2);
  expect(short.stderr).toMatch(/--authkey-file .*short\.key: authkey must be at least 32 random bytes, got 8/);
  // parsed before the key is read: --concurrency x fails after the key checks, so the warning shows first
  const open = cli(writeKey('open2.key', 'c'.repeat(64) + '\n', 0o640));
  expect(open.stderr).toMatch(/MultiprocClusterWarning: the authkey file .*open2\.key may be read by its group or others \(mode 640\)/);
});
