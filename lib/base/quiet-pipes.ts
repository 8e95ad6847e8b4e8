/**
 * `node prog.js | head -1`: once the reader has gone, a write to our stdout fails with EPIPE. Plain
 * Node stays silent (console.log ignores write errors), but the workers' output is piped into our
 * stdout, and a pipe re-raises its destination's error: with a pool open, the program would die of an
 * unhandled 'error' event. Everything that starts workers calls this once.
 *
 * The error also unpipes (and so pauses) each worker's output stream; the engine counts a worker's
 * output as it flows before it settles that worker's results, so a paused stream would hang them.
 * Once our stream is broken, an unpiped source is resumed: its output flows on, to nowhere.
 */
let installed = false;

function isBrokenPipe(err: NodeJS.ErrnoException | undefined): boolean {
  return err?.code === 'EPIPE' || err?.code === 'ERR_STREAM_DESTROYED';
}

export function quietBrokenPipes(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    let broken = false;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (isBrokenPipe(err)) {
        broken = true;
        return;
      }
      // any other error does what it would have done without us
      if (stream.listenerCount('error') === 1) throw err;
    });
    stream.on('unpipe', (source: NodeJS.ReadableStream) => {
      // a pipe unpipes in its own error listener, which runs before ours: decide once the error is seen
      process.nextTick(() => {
        if (broken) source.resume();
      });
    });
  }
}
