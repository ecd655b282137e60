/** Is a process of this host alive? Used to take over a dead runner at once instead of after its lease. */
import { readFileSync } from 'node:fs';

/**
 * True while the process exists and is not a zombie. A process killed but not yet reaped by its
 * parent (a zombie: state Z in /proc/<pid>/stat) still answers `kill(pid, 0)`, yet it will never
 * renew a lease again; EPERM means it exists and belongs to someone else.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // "pid (comm) S …": the state follows the last ')' (the command name may hold one).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) is all there is
  }
}
