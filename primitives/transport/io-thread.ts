/**
 * The I/O thread of a remote-core link (see link.ts). For each broker it opens the REPLY
 * connection (authenticated, announcing a token the calling thread's request connection names)
 * and forwards every frame read there to the calling thread; then it bumps the shared signal
 * word and notifies, so a calling thread asleep in Atomics.wait wakes up at once.
 */
import type * as WorkerThreads from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { builtin } from '../../lib/base/builtin.js';
import { errorToWire } from '../../lib/base/codec/error-wire.js';
import { ConnectionClosedError } from '../../lib/base/errors.js';
import { clientHandshake } from './auth.js';
import { DEFAULT_MAX_FRAME, FrameSocket, HANDSHAKE_MAX_FRAME, encode } from './wire.js';
import { PROTOCOL_OBJECT, type Hello, type Request } from './protocol.js';
import { openSocket } from './connect-socket.js';
import { R_CLOSED, R_CONNECTED, R_FRAME, type LinkConnect, type LinkEvent } from './link-protocol.js';

const { requests, replies, signal } = builtin<typeof WorkerThreads>('node:worker_threads').workerData as { requests: MessagePort; replies: MessagePort; signal: Int32Array };

const sockets: FrameSocket[] = [];
let out: LinkEvent[] = [];
let scheduled = false;

function post(event: LinkEvent): void {
  out.push(event);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flush);
  }
}

function flush(): void {
  scheduled = false;
  const batch = out;
  out = [];
  replies.postMessage(batch);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

async function open([broker, id, address, authkey, token, owner]: LinkConnect): Promise<void> {
  let frames: FrameSocket | null = null;
  try {
    frames = new FrameSocket(await openSocket(address), { maxFrame: HANDSHAKE_MAX_FRAME });
    await clientHandshake(frames, authkey);
    frames.maxFrame = DEFAULT_MAX_FRAME;
    // Hello, then a ping answered on this connection: once it is back the server knows the token.
    const hello: Hello = { hello: 1, pid: process.pid, owner, listen: token };
    const ping: Request = [1, PROTOCOL_OBJECT, 'ping', [], 0];
    frames.sendFrame(encode([hello, ping]));
    await frames.readFrame();
    frames.unref();
    sockets[broker] = frames;
    frames.onFrame((frame) => post([R_FRAME, broker, frame]));
    frames.onClose((reason) => {
      const err = reason instanceof ConnectionClosedError ? reason : new ConnectionClosedError(reason ? `connection closed: ${reason.message}` : 'connection closed by the server');
      post([R_CLOSED, broker, errorToWire(err)]);
    });
    post([R_CONNECTED, id, true, null]);
  } catch (err) {
    frames?.close();
    post([R_CONNECTED, id, false, errorToWire(err)]);
  }
}

requests.on('message', (msg: LinkConnect) => void open(msg));

// If this thread dies, a calling thread asleep in a blocking call must not sleep forever.
process.on('exit', () => {
  Atomics.store(signal, 1, 1);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});

// The calling thread is gone: close our connections so the brokers release what it held.
requests.on('close', () => {
  for (const s of sockets) s?.close();
  process.exit(0);
});
