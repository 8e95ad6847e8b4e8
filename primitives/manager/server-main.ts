/**
 * The Manager's server process (forked by Manager.start). Its parent sends the configuration over
 * the IPC channel (so the authkey is never on a command line), it listens, answers with the bound
 * address, and serves until told to shut down — or until the parent goes away: the IPC channel's
 * 'disconnect' fires when the parent exits or crashes, so no server outlives its parent.
 */
import type * as Fs from 'node:fs';
import type * as Net from 'node:net';
import { builtin } from '../../lib/base/builtin.js';
import { errorToWire } from '../../lib/base/codec/error-wire.js';
import { ObjectServer } from '../transport/server.js';
import type { Address } from '../transport/protocol.js';
import { Registry, ROOT_ID } from './registry.js';
import { hostRegistration, type Registration } from './custom.js';

/** Parent -> server. */
export type ServerCommand =
  | { t: 'start'; address?: Address; authkey: Uint8Array; maxFrame?: number; registrations?: Registration[] }
  | { t: 'shutdown' };

/** Server -> parent. */
export type ServerReport =
  | { t: 'ready'; address: Address; pid: number }
  | { t: 'error'; error: ReturnType<typeof errorToWire> };

const fs = () => builtin<typeof Fs>('node:fs');
const net = () => builtin<typeof Net>('node:net');

let server: ObjectServer | null = null;
let registry: Registry | null = null;
let stopping = false;

/** A socket file left by a server that crashed blocks the path: remove it if nobody answers there. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!fs().existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = net().connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (!alive) {
    try {
      fs().unlinkSync(path);
    } catch {
      /* raced with someone else: listen reports it */
    }
  }
}

async function start(cmd: Extract<ServerCommand, { t: 'start' }>): Promise<void> {
  try {
    for (const reg of cmd.registrations ?? []) await hostRegistration(reg);
    if (typeof cmd.address === 'string') await clearStaleSocket(cmd.address);
    server = await ObjectServer.listen({
      address: cmd.address,
      authkey: new Uint8Array(cmd.authkey),
      maxFrame: cmd.maxFrame,
      // Clients may be on other hosts, where pids repeat: ownership is per connection (one per client thread).
      connectionOwners: true,
    });
    const srv = server;
    registry = new Registry(srv);
    const reg = registry;
    const root = Object.create(null);
    root.create = (kind: unknown, args: unknown) => reg.create(kind, args);
    root.numberOfObjects = () => reg.numberOfObjects();
    root.exposedOf = (kind: unknown) => reg.exposedOf(kind);
    srv.register(root, ROOT_ID);
    report({ t: 'ready', address: srv.address, pid: process.pid });
  } catch (err) {
    report({ t: 'error', error: errorToWire(err) });
    process.exit(1);
  }
}

function report(msg: ServerReport): void {
  process.send?.(msg);
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server?.close();
  process.exit(0);
}

process.on('message', (msg: ServerCommand) => {
  if (msg?.t === 'start') void start(msg);
  else if (msg?.t === 'shutdown') void stop();
});
// The parent exited or crashed: nobody is left to shut us down.
process.on('disconnect', () => void stop());
// Ctrl-C reaches the whole process group: as Python's manager server, ignore it. The program decides
// (it may catch the interrupt and go on using its proxies); if it ends, 'disconnect' stops us cleanly.
process.on('SIGINT', () => {});
