/**
 * What a worker's notes change (the messages it sends beside tinypool's replies, protocol/messages.ts):
 * a child process's hello and a thread's name, 'flushed' at close, a batch's first results before its
 * slow task ends ('part'), and a dying worker's last word ('dying').
 */
import type { BatchReply, Note } from '../protocol/messages.js';
import type { Flight, Flights } from './flights.js';
import type { WatchedWorker } from './worker-watch.js';
import type { Workers } from './workers.js';

/** The parts of the engine a note reaches. */
export interface NoteTarget {
  readonly workers: Workers;
  readonly flights: Flights;
  /** The pool is stopping: a child process saying hello now is told to close at once. */
  stopping(): boolean;
  /** A worker ran its exit hooks at close. */
  flushed(): void;
  /** A batch's reply that waited for this note applies now. */
  applyReply(flight: Flight, reply: BatchReply, worker: WatchedWorker): void;
}

export function onNote(worker: WatchedWorker, note: Note, to: NoteTarget): void {
  switch (note.t) {
    case 'hello':
      to.workers.welcome(worker, to.stopping(), note.n);
      break;
    case 'named':
      to.workers.named(worker, note.n);
      break;
    case 'flushed':
      worker.advance('flushed');
      to.flushed();
      break;
    case 'retiring':
      to.workers.retire(worker);
      break;
    case 'part': {
      const flight = to.flights.get(note.b);
      if (!flight) return;
      to.flights.noted(flight, note.running);
      to.flights.deliver(flight, note, worker, note.out, note.err);
      to.flights.handBack(flight, note.rest);
      if (flight.reply && flight.notes >= flight.reply.notes) {
        const reply = flight.reply;
        flight.reply = undefined;
        to.applyReply(flight, reply, worker);
      }
      break;
    }
    case 'dying': {
      worker.dying = note;
      if (note.b < 0) return;
      const flight = to.flights.get(note.b);
      if (!flight) return;
      const { from, r, running } = note as Extract<Note, { t: 'dying'; running: number }>;
      to.flights.deliver(flight, { from, r }, worker, note.out, note.err);
      to.flights.handBack(flight, running + 1); // not started: another worker takes them now
      break;
    }
  }
}
