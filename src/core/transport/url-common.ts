/** Pieces every transport URL parser shares. */
import { ConfigError } from '../types.js';

export const MAX_POOL = 100;

/** 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** `?pool=N`: a whole number from 1 to MAX_POOL. */
export function parsePool(value: string, shown: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_POOL) {
    throw new ConfigError(`transport URL ${shown}: pool must be a whole number from 1 to ${MAX_POOL} (got "${value.slice(0, 20)}")`);
  }
  return Number(value);
}
