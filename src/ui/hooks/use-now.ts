import { useEffect, useState } from 'react';

/**
 * The current time, re-rendering once a second while `active` (live countdowns) and never
 * otherwise: a screen with nothing counting down costs no timer at all.
 */
export function useNow(active: boolean, periodMs = 1000): number {
  const [now, setNow] = useState(0);
  useEffect(() => {
    if (!active) return;
    let timer: NodeJS.Timeout;
    const tick = () => {
      const t = Date.now();
      setNow(t);
      // Align to the period so countdowns change on the second.
      timer = setTimeout(tick, periodMs - (t % periodMs) + 5);
    };
    timer = setTimeout(tick, periodMs - (Date.now() % periodMs) + 5);
    return () => clearTimeout(timer);
  }, [active, periodMs]);
  void now;
  // Always the real time: the tick only makes the re-render happen. (The tick's own value can be
  // up to a second old when fresh data re-renders in between, and a due time just written would
  // then read as "in 0:01".)
  return Date.now();
}
