/**
 * Keys, one at a time, to whichever part of the screen owns them.
 *
 * One Ink `useInput` (in `KeypressProvider`) reads the terminal. Each screen, dialog and the
 * global keys register a handler with `useKeys(handler, { isActive, layer })`, the way
 * gemini-cli's components use `useKeypress(handler, { isActive })`: a component that is not on
 * screen, or not in front, does not listen. A key goes to the active handlers from the highest
 * layer down (newest first within a layer) until one returns `true` (it took the key).
 *
 * Keys are delivered in the order typed, and a key that changed the screen state holds the next
 * ones back until React has committed that change: React renders Ink's updates in a scheduler
 * task, not at once, so without this a key typed right after `Esc` would still reach the screen
 * being left. The App reports both ends — `renderPending()` from its dispatch when the state
 * changed, `<KeysReady/>` after each commit (handlers register in layout effects, so by then the
 * screen in front is the one listening). Ink hands a run of plain characters that arrive together
 * (fast typing, a paste, tmux send-keys "j Enter") to `useInput` as one string: it is split into
 * keys here first.
 */
import { type Key, useInput, useStdin } from 'ink';
import { createContext, type ReactNode, useCallback, useContext, useLayoutEffect, useMemo, useRef } from 'react';

export type { Key };

/** Returns true when it took the key (nothing below it sees it). */
export type KeyHandler = (input: string, key: Key) => boolean | void;

/** Who sees a key first: Ctrl+C and quitting, then dialogs, then the screen, then `?` / `q` / `Esc`. */
export const LAYER = { global: 0, screen: 1, dialog: 2, first: 3 } as const;
export type Layer = (typeof LAYER)[keyof typeof LAYER];

interface Subscriber {
  handler: { current: KeyHandler };
  layer: number;
  order: number;
}

interface KeypressRegistry {
  add(sub: Subscriber): () => void;
  nextOrder(): number;
  /** A key changed the screen state: hold further keys until the next commit. */
  renderPending(): void;
  /** React committed: deliver what waited. */
  committed(): void;
}

const KeypressContext = createContext<KeypressRegistry | null>(null);

const plainKey = (key: Key, ch: string): Key => {
  const code = ch.codePointAt(0)!;
  return {
    ...key,
    return: ch === '\r' || ch === '\n',
    ctrl: code < 32 && ch !== '\r' && ch !== '\n',
    shift: /[A-Z]/.test(ch),
    // DEL, what the Backspace key sends: Ink names it `delete` when it arrives alone.
    delete: ch === '\u007F',
  };
};

/** Splits what Ink delivered into single keys (input, key) in order. */
export function splitKeys(input: string, key: Key): [string, Key][] {
  if (input.length <= 1 || key.ctrl || key.meta || input.includes('\u001B')) return [[input, key]];
  const out: [string, Key][] = [];
  for (const ch of input) {
    const single = plainKey(key, ch);
    const code = ch.codePointAt(0)!;
    out.push([single.ctrl ? String.fromCharCode(code + 96) : single.return || single.delete ? '' : ch, single]);
  }
  return out;
}

export function KeypressProvider({ children }: { children: ReactNode }) {
  const { isRawModeSupported } = useStdin();
  const subscribers = useRef(new Set<Subscriber>());
  const counter = useRef(0);
  const queue = useRef<[string, Key][]>([]);
  /** A delivered key changed the state and React has not committed it yet. */
  const pending = useRef(false);

  const deliver = useCallback((input: string, key: Key) => {
    const subs = [...subscribers.current].sort((a, b) => b.layer - a.layer || b.order - a.order);
    for (const sub of subs) {
      if (!subscribers.current.has(sub)) continue; // removed by a key handled just before
      if (sub.handler.current(input, key) === true) return;
    }
  }, []);

  const pump = useCallback(() => {
    while (!pending.current && queue.current.length > 0) {
      const [input, key] = queue.current.shift()!;
      deliver(input, key);
    }
  }, [deliver]);

  const onInput = useCallback(
    (input: string, key: Key) => {
      queue.current.push(...splitKeys(input, key));
      pump();
    },
    [pump],
  );
  useInput(onInput, { isActive: Boolean(isRawModeSupported) });

  const registry = useMemo<KeypressRegistry>(
    () => ({
      add: (sub) => {
        subscribers.current.add(sub);
        return () => {
          subscribers.current.delete(sub);
        };
      },
      nextOrder: () => ++counter.current,
      renderPending: () => {
        pending.current = true;
      },
      committed: () => {
        if (!pending.current) return;
        pending.current = false;
        // Not from inside the commit: the next key's updates are ordinary ones.
        if (queue.current.length > 0) queueMicrotask(pump);
      },
    }),
    [pump],
  );
  return <KeypressContext.Provider value={registry}>{children}</KeypressContext.Provider>;
}

function useRegistry(): KeypressRegistry {
  const registry = useContext(KeypressContext);
  if (!registry) throw new Error('keys need a KeypressProvider');
  return registry;
}

/** Call when a key changed the screen state: keys typed after it wait for the commit. */
export function useRenderPending(): () => void {
  return useRegistry().renderPending;
}

/** Rendered last in the App: after each commit, lets keys that waited through. */
export function KeysReady() {
  const registry = useRegistry();
  useLayoutEffect(() => registry.committed());
  return null;
}

/**
 * Listens to keys while `isActive`. The handler may change on every render (it always sees the
 * newest props); it is registered once per activation.
 */
export function useKeys(handler: KeyHandler, { isActive, layer = LAYER.screen }: { isActive: boolean; layer?: Layer }): void {
  const registry = useRegistry();
  const ref = useRef(handler);
  ref.current = handler;
  useLayoutEffect(() => {
    if (!isActive) return;
    return registry.add({ handler: ref, layer, order: registry.nextOrder() });
  }, [registry, isActive, layer]);
}

/** The key names the screens test for. */
export const isUp = (input: string, key: Key) => key.upArrow || input === 'k';
export const isDown = (input: string, key: Key) => key.downArrow || input === 'j';
export const isBack = (input: string, key: Key) => key.escape || input === 'q';
