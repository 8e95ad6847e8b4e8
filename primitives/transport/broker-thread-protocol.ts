/** The few words the broker thread and its parent share: a sequence number, an id, and a text buffer. */
export const CTL_SEQ = 0; // the request being answered (the parent waits for its own number here)
export const CTL_ID = 1; // the registered object's id, or -1 for an error
export const CTL_LEN = 2; // bytes of text (address or error message) in the text buffer
export const TEXT_BYTES = 4096;

/** What the parent asks: rebuild a core from its shared memory and host it. */
export interface RegisterRequest {
  seq: number;
  module: string;
  exportName: string;
  memory: unknown;
}

export function writeText(buf: Uint8Array, s: string): number {
  const { written } = new TextEncoder().encodeInto(s.slice(0, TEXT_BYTES / 4), buf);
  return written;
}

export function readText(buf: Uint8Array, len: number): string {
  return new TextDecoder().decode(buf.slice(0, len));
}
