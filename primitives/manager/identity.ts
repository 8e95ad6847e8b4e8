/**
 * Who is calling: the server sets `callerOwner` to read the transport's current client, so the
 * sync objects can stay free of transport imports (and be tested on their own).
 */
let current: () => string = () => 'local';

/** The calling client thread's owner id; valid only during the synchronous part of a call. */
export function callerOwner(): string {
  return current();
}

export function setCallerOwner(fn: () => string): void {
  current = fn;
}
