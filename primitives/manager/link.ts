/**
 * A client thread's connection to one manager, shared by every proxy of that manager in the thread
 * (one connection per thread, so the server can tell threads apart for lock ownership). Revived
 * proxies (passed to a worker) find or open the link for their manager here.
 */
import { connect, type Client } from '../transport/client.js';
import { formatAddress, type Address } from '../transport/protocol.js';

export interface Link {
  readonly client: Client;
  readonly address: Address;
  readonly authkey: Uint8Array;
  /** The address as text, for messages and toString. */
  readonly label: string;
}

const links = new Map<string, Promise<Link>>();

function keyOf(address: Address, authkey: Uint8Array): string {
  return `${formatAddress(address)}#${Buffer.from(authkey).toString('hex')}`;
}

function makeLink(client: Client, address: Address, authkey: Uint8Array): Link {
  client.onError((_id, err) => {
    // A fire-and-forget call (`ns.x = v`, `value.value = v`) failed remotely: nobody awaits it.
    process.emitWarning(`a manager call without reply failed: ${(err as Error)?.message ?? err}`, 'MultiprocManagerWarning');
  });
  return { client, address, authkey: new Uint8Array(authkey), label: formatAddress(address) };
}

/** Opens a new, unshared link (Manager.start/connect own theirs and share it through `adoptLink`). */
export async function openLink(address: Address, authkey: Uint8Array): Promise<Link> {
  return makeLink(await connect(address, authkey), address, authkey);
}

/** Makes `link` the one this thread's revived proxies of that manager use, until it closes. */
export function adoptLink(link: Link): void {
  const key = keyOf(link.address, link.authkey);
  const p = Promise.resolve(link);
  links.set(key, p);
  link.client.onClose(() => {
    if (links.get(key) === p) links.delete(key);
  });
}

/** This thread's link to the manager at `address`, opened on first use. */
export function linkFor(address: Address, authkey: Uint8Array): Promise<Link> {
  const key = keyOf(address, authkey);
  let p = links.get(key);
  if (p) return p;
  p = openLink(address, authkey).then((link) => {
    link.client.onClose(() => {
      if (links.get(key) === p) links.delete(key);
    });
    return link;
  });
  p.catch(() => {
    if (links.get(key) === p) links.delete(key);
  });
  links.set(key, p);
  return p;
}
