/**
 * multiproc/python's cluster Pool: the cluster Pool (lib/cluster/pool.ts) with the Python-named methods and
 * Python's positional arguments of lib/python/pool.ts's Pool. Those methods only translate arguments and call
 * the Pool API both classes share (BasePool), so they are borrowed here rather than written twice.
 */
import { Pool as ClusterPoolBase, type ClusterPoolOptions } from './pool.js';
import { Pool as PyPool } from '../python/pool.js';

const PYTHON_METHODS = ['apply', 'apply_async', 'map', 'map_async', 'starmap', 'starmap_async', 'imap', 'imap_unordered'] as const;
type PythonMethodName = (typeof PYTHON_METHODS)[number];

class PyClusterPool extends ClusterPoolBase {}
for (const name of PYTHON_METHODS) {
  Object.defineProperty(PyClusterPool.prototype, name, Object.getOwnPropertyDescriptor(PyPool.prototype, name)!);
}

/** Python's `multiprocessing.Pool` API on a cluster of hosts. */
export type Pool = Omit<ClusterPoolBase, PythonMethodName> & Pick<PyPool, PythonMethodName>;

/** `ClusterPool({ connection, authkey, queue?, processes?, retries? })`, with Python's method names and arguments. */
export const Pool = PyClusterPool as unknown as new (options: ClusterPoolOptions) => Pool;
