/**
 * Counts the bytes a worker writes to stdout and stderr. A reply carries the counts, and the parent
 * settles the batch's results only once it has printed that many bytes of the worker's output: the
 * output travels on another channel than the reply (a thread's stdio port, a child's stdout pipe), so
 * without this a task's lines could appear after its result, or be lost if the program then ends.
 */
export const written = { out: 0, err: 0 };

function count(stream: NodeJS.WriteStream, key: 'out' | 'err'): void {
  const write = stream.write;
  stream.write = function (this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, cb?: unknown) {
    if (typeof chunk === 'string') {
      written[key] += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    } else if (chunk instanceof Uint8Array) {
      written[key] += chunk.byteLength;
    }
    return write.call(this, chunk as any, encoding as any, cb as any);
  } as typeof stream.write;
}

count(process.stdout, 'out');
count(process.stderr, 'err');

/**
 * A child process whose parent is gone gets EPIPE on its next write: that must not print a stack of
 * its own (into a pipe nobody reads) or crash with an unhandled 'error' event; the worker is about
 * to be stopped anyway.
 */
export function ignoreBrokenPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    });
  }
}
