/**
 * Test hosts on one machine: Linux network namespaces joined by a bridge, each with a host name
 * of its own (a UTS namespace per process), so that runners "on other hosts" reach the database
 * and the mail server only through the network, and a link can be cut and restored. The machine
 * itself (the root namespace) is the database host, at the bridge's address.
 *
 * Needs root and iproute2 (`ip`), unshare (util-linux). Nothing leaves the machine: the bridge has
 * no uplink.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestNetwork {
  /** The database host's address (the bridge, in the root namespace). */
  gateway: string;
  /** The subnet, e.g. 10.77.42.0/24 (for pg_hba). */
  cidr: string;
  hosts: string[];
  /** Starts `command args` on a test host, with that host's name. */
  spawn(host: string, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Cuts the host's link (packets dropped, connections hang), or restores it. */
  cut(host: string): void;
  restore(host: string): void;
  destroy(): void;
}

/** Can this process make test hosts? (root, ip, netns, veth, bridge) */
export function canMakeNetwork(): boolean {
  if (process.getuid?.() !== 0) return false;
  if (spawnSync('ip', ['-V']).status !== 0 || spawnSync('unshare', ['--version']).status !== 0) return false;
  const probe = `amp${randomBytes(3).toString('hex')}`;
  const ok = spawnSync('ip', ['netns', 'add', probe]).status === 0;
  if (ok) spawnSync('ip', ['netns', 'del', probe]);
  return ok;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export function createNetwork(hosts: string[]): TestNetwork {
  const tag = randomBytes(2).toString('hex');
  const subnet = 10 + (parseInt(tag, 16) % 240); // 10.77.<subnet>.0/24, random so parallel suites do not meet
  const gateway = `10.77.${subnet}.1`;
  const bridge = `amb${tag}`;
  const made: { ns: string[]; links: string[] } = { ns: [], links: [] };
  const destroy = () => {
    for (const ns of made.ns) spawnSync('ip', ['netns', 'del', ns]);
    for (const l of made.links) spawnSync('ip', ['link', 'del', l]);
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    made.links.push(bridge);
    ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    hosts.forEach((host, i) => {
      const ns = `am${tag}-${host}`;
      const outer = `am${tag}o${i}`;
      const inner = `am${tag}i${i}`;
      ip('netns', 'add', ns);
      made.ns.push(ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
      made.links.push(outer);
      ip('link', 'set', inner, 'netns', ns);
      ip('link', 'set', outer, 'master', bridge);
      ip('link', 'set', outer, 'up');
      ip('netns', 'exec', ns, 'ip', 'addr', 'add', `10.77.${subnet}.${10 + i}/24`, 'dev', inner);
      ip('netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up');
      ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
      ip('netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', gateway);
    });
  } catch (err) {
    destroy();
    throw err;
  }
  const index = (host: string) => {
    const i = hosts.indexOf(host);
    if (i < 0) throw new Error(`no test host ${host}`);
    return i;
  };
  return {
    gateway,
    cidr: `10.77.${subnet}.0/24`,
    hosts,
    spawn(host, command, args, options = {}) {
      const ns = `am${tag}-${host}`;
      // exec all the way down: the child's pid is the command's own (kill -9 reaches it)
      const script = `hostname ${host} && exec "$0" "$@"`;
      return spawn('ip', ['netns', 'exec', ns, 'unshare', '--uts', 'sh', '-c', script, command, ...args], options);
    },
    cut(host) {
      ip('link', 'set', `am${tag}o${index(host)}`, 'down');
    },
    restore(host) {
      ip('link', 'set', `am${tag}o${index(host)}`, 'up');
    },
    destroy,
  };
}
