/**
 * The receiving end of a proxy handle (lib/base/codec/handles.ts): a worker that gets a Manager proxy
 * imports this module, which connects the worker's thread to the manager (once) and rebuilds the proxy.
 */
import { linkFor } from './link.js';
import { makeProxy, type ProxyHandleData } from './proxy-base.js';
import { ensureProxyType } from './custom.js';
import './proxies.js';
import './sync-proxies.js';

export async function reviveHandle(type: string, data: unknown): Promise<unknown> {
  const d = data as ProxyHandleData;
  const link = await linkFor(d.address, new Uint8Array(d.authkey));
  await ensureProxyType(link, type); // a registered type: its proxy class comes from the server's exposed names
  return makeProxy(link, type, d.id);
}
