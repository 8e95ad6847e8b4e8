/**
 * Trust on a cluster: what crosses Redis is sealed with keys derived from the cluster's authkey, which
 * itself never leaves the client or the worker hosts.
 *
 * Encrypt-then-MAC. HMAC-SHA256 (the Manager's handshake MAC) over the context, the header and the
 * ciphertext says who made a job and that nobody changed it: a worker refuses anything else. AES-256-CTR
 * hides the payload, because arguments may carry secrets: a Manager proxy carries its Manager's authkey.
 * The context (what the bytes are for, the queue, the job id) is MACed but not sent, so sealed bytes
 * cannot be replayed as another job, or as the result of another job.
 *
 * Sealed layout: version (1 byte) | key id (8) | iv (16) | tag (32) | ciphertext.
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../base/builtin.js';
import { AuthenticationError } from '../base/errors.js';

const crypto = () => builtin<typeof Crypto>('node:crypto');

const VERSION = 1;
const ID_BYTES = 8;
const IV_BYTES = 16;
const TAG_BYTES = 32;
const HEADER = 1 + ID_BYTES + IV_BYTES + TAG_BYTES;

/** Keys derived from one authkey. */
export interface ClusterKeys {
  readonly enc: Buffer;
  readonly mac: Buffer;
  /** Names the authkey without revealing it, so a host can say "another authkey" rather than "tampered". */
  readonly id: Buffer;
}

/** Derives the cluster's keys (HKDF-SHA256); the authkey itself is not kept. */
export function deriveKeys(authkey: Uint8Array): ClusterKeys {
  const okm = Buffer.from(crypto().hkdfSync('sha256', authkey, 'multiproc-cluster', 'v1 aes-256-ctr hmac-sha256 key-id', 32 + 32 + ID_BYTES));
  return { enc: okm.subarray(0, 32), mac: okm.subarray(32, 64), id: okm.subarray(64) };
}

/** Short hex name of a key, for messages. */
export function keyName(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}

function tagOf(keys: ClusterKeys, context: string, head: Uint8Array, body: Uint8Array): Buffer {
  return crypto().createHmac('sha256', keys.mac).update(context).update(head).update(body).digest();
}

/** Encrypts and signs `plain` for `context` (e.g. `job\0<queue>\0<job id>`). */
export function seal(keys: ClusterKeys, context: string, plain: Uint8Array): Buffer {
  const iv = crypto().randomBytes(IV_BYTES);
  const cipher = crypto().createCipheriv('aes-256-ctr', keys.enc, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const out = Buffer.allocUnsafe(HEADER + body.length);
  out[0] = VERSION;
  keys.id.copy(out, 1);
  iv.copy(out, 1 + ID_BYTES);
  body.copy(out, HEADER);
  const head = out.subarray(0, 1 + ID_BYTES + IV_BYTES);
  tagOf(keys, context, head, body).copy(out, 1 + ID_BYTES + IV_BYTES);
  return out;
}

/** The key id a sealed payload names, or null when it is no seal of ours at all. */
export function keyIdOf(sealed: Uint8Array): Buffer | null {
  if (sealed.length < HEADER || sealed[0] !== VERSION) return null;
  return Buffer.from(sealed.subarray(1, 1 + ID_BYTES));
}

/**
 * Checks and decrypts what `seal` made for the same context. Throws AuthenticationError, saying whether
 * it was sealed with another authkey or is not a valid seal at all (forged, changed, or not ours).
 */
export function open(keys: ClusterKeys, context: string, sealed: Uint8Array): Buffer {
  const buf = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < HEADER || buf[0] !== VERSION) throw new AuthenticationError('not signed: the payload carries no multiproc signature');
  const id = buf.subarray(1, 1 + ID_BYTES);
  if (!id.equals(keys.id)) {
    throw new AuthenticationError(`signed with another authkey (key id ${keyName(id)}; this side's is ${keyName(keys.id)})`);
  }
  const head = buf.subarray(0, 1 + ID_BYTES + IV_BYTES);
  const tag = buf.subarray(1 + ID_BYTES + IV_BYTES, HEADER);
  const body = buf.subarray(HEADER);
  if (!crypto().timingSafeEqual(tag, tagOf(keys, context, head, body))) {
    throw new AuthenticationError('digest received was wrong: the payload was changed, or signed for another job');
  }
  const decipher = crypto().createDecipheriv('aes-256-ctr', keys.enc, head.subarray(1 + ID_BYTES));
  return Buffer.concat([decipher.update(body), decipher.final()]);
}
