#!/usr/bin/env node
// `npm test`: runs every Jest project this machine can run. The cluster tests need redis-server and the
// netns test needs root and iproute2 as well; where they are missing, it installs them when it can
// (root with apt-get, as .ci/run does), otherwise it runs the rest and names the skipped projects, why,
// and the one command that enables them — before and after the run, so a skip is never silent.
import { spawnSync } from 'node:child_process';

const passthrough = process.argv.slice(2);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const has = (cmd, ...args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const hasRedis = () => has('redis-server', '--version');
const hasIp = () => has('ip', '-V');
const provisionAllowed = isRoot && has('apt-get', '--version') && process.env.MULTIPROC_TEST_NO_PROVISION !== '1';

function provision(pkg) {
  console.log(`[multiproc test] installing ${pkg} (root with apt-get; set MULTIPROC_TEST_NO_PROVISION=1 to skip)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!has('apt-get', 'install', '-y', '-qq', pkg)) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  }
}

if (!hasRedis() && provisionAllowed) provision('redis-server');
if (!hasIp() && provisionAllowed) provision('iproute2');

const skipped = [];
if (!hasRedis()) {
  skipped.push({ project: 'cluster', why: 'redis-server is not on PATH', enable: 'sudo apt-get install -y redis-server' });
  skipped.push({ project: 'netns', why: 'redis-server is not on PATH', enable: 'sudo apt-get install -y redis-server iproute2, then run as root' });
} else if (!isRoot || !hasIp()) {
  skipped.push({ project: 'netns', why: isRoot ? 'iproute2 (ip) is missing' : 'network namespaces need root', enable: isRoot ? 'apt-get install -y iproute2' : 'sudo npm test' });
}
const projects = ['unit', 'integration', 'cluster', 'netns'].filter((p) => !skipped.some((s) => s.project === p));

function banner() {
  if (skipped.length === 0) return;
  const lines = ['', '!'.repeat(78), '!! SKIPPED TEST PROJECTS (this machine cannot run them):'];
  for (const s of skipped) lines.push(`!!   ${s.project}: ${s.why} — enable with: ${s.enable}`);
  lines.push('!'.repeat(78), '');
  console.log(lines.join('\n'));
}

banner();
const explicitSelection = passthrough.includes('--selectProjects');
const args = [...(explicitSelection ? [] : ['--selectProjects', ...projects]), ...passthrough];
const jest = spawnSync(process.execPath, ['node_modules/jest/bin/jest.js', ...args], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim() },
});
banner();
process.exit(jest.status ?? 1);
