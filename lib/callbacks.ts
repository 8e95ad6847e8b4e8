/** A user callback that throws must not break the pool: report it on stderr, as Python's result handler does. */
export function runCallback(kind: string, fn: (arg: any) => void, arg: unknown): void {
  try {
    fn(arg);
  } catch (err) {
    process.stderr.write(`multiproc: exception in ${kind}:\n${(err as Error)?.stack ?? String(err)}\n`);
  }
}
