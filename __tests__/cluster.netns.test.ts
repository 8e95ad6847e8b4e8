// The cluster across a real network: Redis, two worker hosts and the client each in a network namespace
// of their own, joined by veth pairs through a bridge, so every byte crosses an interface. Needs root and
// iproute2 (CI runs as root); the namespaces are removed even when a step fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { RedisServer } from './helpers/redis.js';
import { HostProcess, keyFile, repoRoot } from './helpers/redis-hosts.js';
import { Network } from './helpers/redis-netns.js';

let net: Network;
let redis: RedisServer | undefined;
const hosts: HostProcess[] = [];
let client: ChildProcess | undefined;

afterAll(async () => {
  client?.kill('SIGKILL');
  await Promise.all(hosts.map((h) => h.stop()));
  await redis?.stop();
  net?.destroy();
}, 30_000);

test('two hosts serve a client over the network: spread, values, a Manager proxy, a cut link rejected within 5 s', async () => {
  net = Network.create(['redis', 'host1', 'host2', 'client']);
  redis = await RedisServer.start({ netns: net.ns('redis'), bind: net.ip('redis'), port: 6379 });
  const key = keyFile('netns key');
  hosts.push(...(await Promise.all(['host1', 'host2'].map((h) => HostProcess.start(redis!.url, { keyFile: key, netns: net.ns(h) })))));

  const proc = spawn('ip', ['netns', 'exec', net.ns('client'), process.execPath, '--import', 'tsx', join(repoRoot, '__tests__/fixtures/cluster-netns-client.ts')], {
    cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', REDIS_URL: redis.url, KEY_FILE: key, CLIENT_IP: net.ip('client') },
  });
  client = proc;
  let stderr = '';
  proc.stderr!.on('data', (c) => (stderr += c));
  const steps: Record<string, any> = {};
  let buffered = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const stepSeen = new Map<string, () => void>();
  const step = (name: string) => new Promise<void>((resolve) => (steps[name] ? resolve() : stepSeen.set(name, resolve)));
  proc.stdout!.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const msg = JSON.parse(line);
      steps[msg.step] = msg;
      stepSeen.get(msg.step)?.();
    }
  });
  const failed = exited.then((code) => {
    throw new Error(`client exited (${code}) early:\n${stderr}\n${JSON.stringify(steps)}`);
  });
  const stuck = setTimeout(() => proc.kill('SIGKILL'), 90_000); // a hung client fails the test with what it said
  stuck.unref();

  await Promise.race([step('spread'), failed]);
  expect(steps.spread.pids.sort()).toEqual(hosts.map((h) => h.pid).sort());
  expect(steps.spread.squaresOk).toBe(true);
  expect(steps.spread.dict).toEqual({ k0: 0, k1: 10, k2: 20, k3: 30 });

  await Promise.race([step('pending'), failed]);
  net.link('client', 'down');
  await Promise.race([step('partition'), failed]);
  expect(steps.partition).toMatchObject({ ok: false, name: 'ConnectionClosedError' });
  expect(steps.partition.message).toContain(redis.url);
  expect(steps.partition.ms).toBeLessThan(5000);

  net.link('client', 'up');
  proc.stdin!.end('up\n');
  await Promise.race([step('after'), failed]);
  expect(steps.after.value).toBe(144);
  expect(await exited).toBe(0);
  clearTimeout(stuck);
}, 120_000);
