// WatchedWorker's life as a state machine: the transitions it allows, the ones it ignores (late events),
// and what it remembers of its life once it has exited. Driven by a plain emitter standing in for the
// node Worker: the state machine is the part under test, not the thread.
import { EventEmitter } from 'node:events';
import { WatchedWorker } from '../lib/engine/worker-watch.js';
import type { WorkerHandle } from '../lib/engine/tinypool-adapter.js';

function watched() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const handle = { id: 1, runtime: 'thread', emitter, key: {}, fail: () => {} } as unknown as WorkerHandle;
  const worker = new WatchedWorker(handle, { note: () => {}, exit: (_w, code) => exits.push(code ?? -1) });
  return { worker, emitter, exits };
}

test('starting → ready → retiring → exited → gone; a worker that answered is started, one asked to exit expects it', () => {
  const { worker, emitter, exits } = watched();
  expect(worker.state).toBe('starting');
  expect(worker.started).toBe(false);
  emitter.emit('message', { ready: true });
  expect(worker.state).toBe('ready');
  expect(worker.advance('retiring')).toBe(true);
  expect(worker.exitExpected).toBe(true);
  expect(worker.advance('ready')).toBe(false); // a late message changes nothing
  emitter.emit('exit', 0);
  expect(worker.state).toBe('gone');
  expect(exits).toEqual([0]);
  // what it was doing when it exited is remembered
  expect(worker.started).toBe(true);
  expect(worker.retiring).toBe(true);
  expect(worker.exited).toBe(true);
});

test('a worker that exits before answering was never started; a second exit is not reported twice', () => {
  const { worker, emitter, exits } = watched();
  emitter.emit('exit', 1);
  emitter.emit('exit', 1);
  expect(worker.started).toBe(false);
  expect(worker.exitExpected).toBe(false);
  expect(exits).toEqual([1]);
  expect(worker.advance('ready')).toBe(false); // gone is final
});

test('flushed only from a live worker; a message read after the exit still tells what it was doing', () => {
  const { worker } = watched();
  expect(worker.advance('flushed')).toBe(false); // still starting: it has said nothing
  worker.advance('ready');
  expect(worker.advance('flushed')).toBe(true);
  expect(worker.advance('retiring')).toBe(false);

  const late = watched().worker;
  late.advance('exited');
  expect(late.advance('ready')).toBe(true); // its hello, read after the exit
  expect(late.state).toBe('exited');
  expect(late.started).toBe(true);
});
