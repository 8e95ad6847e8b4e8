// A small network of network namespaces for the cluster tests: one per node (Redis, worker hosts, the
// client), each with one veth to a bridge that lives in a namespace of its own, so traffic between them
// really crosses interfaces and the test touches nothing of the machine's own network. Needs root.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PREFIX = 'mpclu';
const SUBNET = '10.231.7';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Namespaces left by a test run that died before cleaning up. */
function removeStale(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0];
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (m && !existsSync(`/proc/${m[1]}`)) ip('netns', 'del', name);
  }
}

export class Network {
  readonly #nodes = new Map<string, { ns: string; ip: string }>();
  readonly #switch = `${PREFIX}${process.pid}-sw`;

  /** Creates a namespace per node, addressed 10.231.7.1, .2, ... in the order given. */
  static create(nodes: string[]): Network {
    removeStale();
    const net = new Network();
    try {
      net.#build(nodes);
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  #build(nodes: string[]): void {
    const sw = this.#switch;
    ip('netns', 'add', sw);
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'br0', 'up');
    nodes.forEach((node, i) => {
      const ns = `${PREFIX}${process.pid}-${node}`;
      const addr = `${SUBNET}.${i + 1}`;
      this.#nodes.set(node, { ns, ip: addr });
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', sw);
      ip('-n', sw, 'link', 'set', `p${i}`, 'master', 'br0');
      ip('-n', sw, 'link', 'set', `p${i}`, 'up');
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    });
  }

  ns(node: string): string {
    return this.#nodes.get(node)!.ns;
  }

  ip(node: string): string {
    return this.#nodes.get(node)!.ip;
  }

  /** Cuts a node off (its interface down: no reset, no answer, as a pulled cable) or connects it again. */
  link(node: string, state: 'up' | 'down'): void {
    ip('-n', this.ns(node), 'link', 'set', 'eth0', state);
  }

  /** Deletes every namespace (their interfaces go with them); safe to call twice. */
  destroy(): void {
    for (const name of [...[...this.#nodes.values()].map((n) => n.ns), this.#switch]) {
      try {
        ip('netns', 'del', name);
      } catch {
        // not created, or already gone
      }
    }
    this.#nodes.clear();
  }
}
