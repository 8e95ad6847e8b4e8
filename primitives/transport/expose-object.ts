/**
 * Lets this thread expose a core that is not all shared memory (a test's counter, an object whose state
 * lives in this thread): its calls are served by an ObjectServer in this thread, started on first use.
 * Importing this module installs it into ./expose.ts, which otherwise serves shared-memory cores only
 * (from the broker thread) and so does not load the server, its wire and its auth at `import 'multiproc'`.
 */
import type * as Crypto from 'node:crypto';
import { builtin } from '../../lib/base/builtin.js';
import { ObjectServer } from './server.js';
import { installObjectBroker } from './expose.js';

installObjectBroker(() => ObjectServer.listenSync({ authkey: builtin<typeof Crypto>('node:crypto').randomBytes(32) }));

export { exposeCore, remoteRefOf, closeBroker, type RemoteRef } from './expose.js';
