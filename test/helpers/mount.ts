import { spawnSync } from 'node:child_process';
import { tempDir } from './cli.js';

/**
 * Whether this process can mount a tmpfs (root, and mounting allowed here): the storage-fault
 * tests need it. Where it cannot be done they fail under CI (the rule for missing
 * infrastructure) and are skipped elsewhere.
 */
export const canMount: boolean = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = tempDir('aremko-mount-probe-');
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe.dir]).status === 0;
  if (ok) spawnSync('umount', [probe.dir]);
  probe.cleanup();
  return ok;
})();
