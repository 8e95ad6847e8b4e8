/**
 * Starting a Manager's server process and opening a client's link to a manager. Loaded with import()
 * by the first `Manager.start()` / `Manager.connect()`: a program that never uses a Manager does not
 * load the client, the socket transport or node:child_process at `import 'multiproc'`.
 */
import type * as ChildProcesses from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type * as Url from 'node:url';
import { builtin } from '../../lib/base/builtin.js';
import { errorFromWire } from '../../lib/base/codec/error-wire.js';
import { ConnectionClosedError } from '../../lib/base/errors.js';
import { tsxLoaderUrl } from '../../lib/base/ts-loader.js';
import { WORKER_ARG } from '../../lib/base/context.js';
import type { Address } from '../transport/protocol.js';
import { adoptLink, openLink, type Link } from './link.js';
import type { Registration } from './custom.js';
import type { ServerCommand, ServerReport } from './server-main.js';

export { adoptLink, openLink };

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const serverMain = builtin<typeof Url>('node:url').fileURLToPath(new URL(`./server-main${ext}`, import.meta.url));

export interface ServerOptions {
  address?: Address;
  maxFrame?: number;
}

/** Forks the server process and waits for its bound address. */
async function spawnServer(opts: ServerOptions, authkey: Uint8Array, registrations: Registration[]): Promise<{ child: ChildProcess; address: Address }> {
  // WORKER_ARG: the server imports the modules of registered types, and their `if (isMainThread)` guard
  // must keep it from running the main program again (which starts a manager: one per import, forever).
  const child = builtin<typeof ChildProcesses>('node:child_process').fork(serverMain, [WORKER_ARG], {
    execArgv: ext === '.ts' ? ['--import', tsxLoaderUrl()] : [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('error', () => {}); // a send racing the server's death; 'exit' tells the rest
  try {
    const report = await new Promise<ServerReport>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(new ConnectionClosedError(`the manager process exited during start-up (${signal ?? `code ${code}`})`));
      child.once('exit', onExit);
      child.once('message', (msg: ServerReport) => {
        child.off('exit', onExit);
        resolve(msg);
      });
      child.send({ t: 'start', address: opts.address, authkey, maxFrame: opts.maxFrame, registrations } satisfies ServerCommand);
    });
    if (report.t === 'error') throw errorFromWire(report.error);
    return { child, address: report.address };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** Forks a server and opens this client's link to it; the server is killed if the link fails. */
export async function startServer(opts: ServerOptions, authkey: Uint8Array, registrations: Registration[]): Promise<{ child: ChildProcess; link: Link }> {
  const { child, address } = await spawnServer(opts, authkey, registrations);
  try {
    return { child, link: await openLink(address, authkey) };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
