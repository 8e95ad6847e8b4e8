/** Opening a socket to an address: a Unix path or TCP host and port; failures as ConnectionClosedError. */
import type * as Net from 'node:net';
import type { Socket } from 'node:net';
import { builtin } from '../../lib/base/builtin.js';
import { ConnectionClosedError } from '../../lib/base/errors.js';
import { formatAddress, type Address } from './protocol.js';

const net = () => builtin<typeof Net>('node:net');

export function openSocket(address: Address): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = typeof address === 'string' ? net().connect(address) : net().connect(address.port, address.host);
    const onError = (err: Error) => {
      socket.destroy();
      const e = new ConnectionClosedError(`cannot connect to ${formatAddress(address)}: ${err.message}`);
      Object.defineProperty(e, 'cause', { value: err, configurable: true, writable: true });
      reject(e);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
