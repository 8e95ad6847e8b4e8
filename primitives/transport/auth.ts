/**
 * Authkey challenge, both ways, before anything else is decoded from a peer — the exchange of
 * Python >= 3.12's multiprocessing.connection (deliver_challenge / answer_challenge):
 *
 *   A -> B  #CHALLENGE#{sha256}<40 random bytes>
 *   B -> A  {sha256}<HMAC-SHA256(authkey, "{sha256}" + random bytes)>
 *   A -> B  #WELCOME#  or  #FAILURE#
 *
 * The server delivers first then answers; the client answers first then delivers. Each frame is
 * raw bytes (never v8-decoded) and limited to HANDSHAKE_MAX_FRAME by the caller.
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../../lib/base/builtin.js';
import { AuthenticationError } from '../../lib/base/errors.js';
import { HANDSHAKE_MAX_FRAME, type FrameSocket } from './wire.js';

const crypto = () => builtin<typeof Crypto>('node:crypto');

const CHALLENGE = Buffer.from('#CHALLENGE#');
const WELCOME = Buffer.from('#WELCOME#');
const FAILURE = Buffer.from('#FAILURE#');
const DIGEST = Buffer.from('{sha256}');
const NONCE_BYTES = 40;
/** A client's wait for each step of the server's handshake (ms). */
export const HANDSHAKE_TIMEOUT = 10_000;
/** A server drops a client that has not sent the next handshake step within this long (ms). */
export const SERVER_HANDSHAKE_TIMEOUT = 2_000;
/** The only valid answer to a challenge: `{sha256}` + a 32-byte HMAC. */
const ANSWER_BYTES = 8 + 32;
/** A challenge is `#CHALLENGE#{sha256}` + the nonce (Python sends 40 bytes; allow a longer one). */
const CHALLENGE_MAX = 11 + 8 + 256;
/** `#WELCOME#` or `#FAILURE#`. */
const VERDICT_MAX = 16;

export type Authkey = Uint8Array;

function digest(authkey: Authkey, message: Buffer): Buffer {
  return Buffer.concat([DIGEST, crypto().createHmac('sha256', authkey).update(message).digest()]);
}

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

/** Reads the next handshake frame, refusing (before buffering) one that announces more than `max` bytes. */
async function readLimited(fs: FrameSocket, max: number, timeoutMs: number): Promise<Buffer> {
  fs.maxFrame = max;
  try {
    return await fs.readFrame(timeoutMs);
  } finally {
    fs.maxFrame = HANDSHAKE_MAX_FRAME; // the limit of what we send, until the caller raises it after the handshake
  }
}

/** Checks the authkey type at the boundary: a wrong type is the caller's bug, not a wrong key. */
export function checkAuthkey(authkey: unknown): Authkey {
  if (!(authkey instanceof Uint8Array)) {
    throw new TypeError(`authkey must be a Uint8Array or Buffer (an empty one is valid), got ${authkey === null ? 'null' : typeof authkey}`);
  }
  return authkey;
}

/** Sends a challenge and checks the peer's answer; a wrong answer throws AuthenticationError. */
export async function deliverChallenge(fs: FrameSocket, authkey: Authkey, timeoutMs = HANDSHAKE_TIMEOUT): Promise<void> {
  const message = Buffer.concat([DIGEST, crypto().randomBytes(NONCE_BYTES)]);
  fs.sendFrame(Buffer.concat([CHALLENGE, message]));
  // The answer has one exact length: a frame that announces more is dropped before a byte of it is
  // buffered, one of another length or without the digest name is garbage, not a wrong key.
  const response = await readLimited(fs, ANSWER_BYTES, timeoutMs);
  if (response.length !== ANSWER_BYTES || !startsWith(response, DIGEST)) {
    const err = new AuthenticationError(`protocol error: expected a ${ANSWER_BYTES}-byte answer to the challenge, got ${response.length} other bytes`);
    fs.close(err);
    throw err;
  }
  const expected = digest(authkey, message);
  if (crypto().timingSafeEqual(response, expected)) {
    fs.sendFrame(WELCOME);
    return;
  }
  fs.sendFrame(FAILURE);
  throw new AuthenticationError('digest received was wrong');
}

/** Answers the peer's challenge; if the peer rejects the answer, throws AuthenticationError. */
export async function answerChallenge(fs: FrameSocket, authkey: Authkey, timeoutMs = HANDSHAKE_TIMEOUT): Promise<void> {
  const challenge = await readLimited(fs, CHALLENGE_MAX, timeoutMs);
  if (!startsWith(challenge, CHALLENGE)) throw new AuthenticationError(`protocol error: expected a challenge, got ${challenge.length} other bytes`);
  const message = challenge.subarray(CHALLENGE.length);
  if (!startsWith(message, DIGEST)) throw new AuthenticationError('protocol error: unsupported digest (expected {sha256})');
  fs.sendFrame(digest(authkey, message));
  const verdict = await readLimited(fs, VERDICT_MAX, timeoutMs);
  if (!verdict.equals(WELCOME)) throw new AuthenticationError('digest sent was rejected');
}

/** The accepting side: challenge the client, then let it challenge us (Python's Listener.accept). */
export async function serverHandshake(fs: FrameSocket, authkey: Authkey, timeoutMs = SERVER_HANDSHAKE_TIMEOUT): Promise<void> {
  await deliverChallenge(fs, authkey, timeoutMs);
  await answerChallenge(fs, authkey, timeoutMs);
}

/** The connecting side: answer the server's challenge, then challenge it (Python's Client). */
export async function clientHandshake(fs: FrameSocket, authkey: Authkey, timeoutMs = HANDSHAKE_TIMEOUT): Promise<void> {
  await answerChallenge(fs, authkey, timeoutMs);
  await deliverChallenge(fs, authkey, timeoutMs);
}
