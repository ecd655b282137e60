/**
 * Mounts the TUI on the real terminal. Imported lazily by the CLI (`aremko-mail` in a terminal),
 * so that no other command loads Ink or React.
 *
 * The terminal is always given back as it was found — alternate screen left, cursor shown, raw
 * mode off — on every way out: q / Ctrl+C, SIGTERM / SIGHUP / SIGINT, a crash, process exit.
 * Quitting while this window sends stops like SIGTERM: no new claims, messages in flight finish
 * and are recorded, leases released, exit 0. A second Ctrl+C or signal while stopping leaves at
 * once (what is in flight becomes in_doubt for the next runner, as after a kill).
 */
import { EventEmitter } from 'node:events';
import { writeSync } from 'node:fs';
import { relative } from 'node:path';
import { fail, observer } from './context.js';
import { resolveDbLocation } from '../core/config.js';
import { loadDkim } from '../core/dkim.js';
import type { Store } from '../core/store.js';
import { openStore } from '../core/store/open.js';
import { parseTransportUrl } from '../core/transport/index.js';
import { TuiController } from '../ui/controller.js';
import { detectLang, intlLocale } from '../ui/i18n.js';
import { asciiFromEnv, noColorFromEnv } from '../ui/theme.js';

export interface TuiArgs {
  db?: string;
  transport?: string;
  lang?: string;
  'dkim-key'?: string;
  'dkim-selector'?: string;
}

const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[2J\x1b[H';
const LEAVE_ALT_SCREEN = '\x1b[?25h\x1b[?1049l';

export async function runTui(a: TuiArgs): Promise<void> {
  let store: Store | undefined;
  let transportUrl: string | null;
  let dkim: ReturnType<typeof loadDkim>;
  try {
    // Read once at start: a bad key file is a usage error now, not at the first send.
    dkim = loadDkim({ dkimKey: a['dkim-key'], dkimSelector: a['dkim-selector'] });
    store = await openStore(resolveDbLocation(a.db));
    transportUrl = a.transport || process.env.AREMKO_MAIL_TRANSPORT || null;
    // A malformed URL is a usage error now, not a surprise at the first `s`.
    if (transportUrl) parseTransportUrl(transportUrl);
  } catch (err) {
    await store?.close();
    fail(err);
    return;
  }

  // Ink decides at import time whether it runs in CI, and then draws nothing until it exits.
  // Both ends are a terminal here (the CLI checked): the live screen is what was asked for.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  // React's development build checks and warns on every render: ~45 % of the TUI's CPU while a
  // campaign sends (bench/RESULTS.md). An operator runs the production build unless told otherwise.
  process.env.NODE_ENV ??= 'production';
  const [{ render }, { createElement }, { App }, { UiContext, makeUiContext }] = await Promise.all([
    import('ink'),
    import('react'),
    import('../ui/components/App.js'),
    import('../ui/ui-context.js'),
  ]);

  const lang = detectLang(a.lang);
  const controller = new TuiController({ store, transportUrl, observer, engineOptions: { dkim } });
  const stdout = process.stdout;
  const stdin = process.stdin;

  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
    } catch {
      /* the terminal may be gone (SIGHUP) */
    }
    try {
      writeSync(stdout.fd, LEAVE_ALT_SCREEN);
    } catch {
      /* idem */
    }
  };
  const onExit = () => restore();
  // A terminal that went away (SIGHUP) makes writes fail: that must not crash a graceful stop.
  const onStdoutError = () => undefined;
  const quitSignal = new EventEmitter();
  const forceQuit = (code: number) => {
    restore();
    process.exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (quitSignal.listenerCount('quit') === 0) return forceQuit(signal === 'SIGINT' ? 130 : 143);
    quitSignal.emit('quit');
  };
  const onCrash = (err: unknown) => {
    try {
      instance?.unmount();
    } catch {
      /* already broken */
    }
    restore();
    process.stderr.write(`aremko-mail: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  };

  // Removed again once the TUI is gone, except 'exit' (restore() is idempotent).
  const handlers: [string, (...args: any[]) => void][] = [
    ['SIGTERM', onSignal],
    ['SIGHUP', onSignal],
    ['SIGINT', onSignal],
    ['uncaughtException', onCrash],
    ['unhandledRejection', onCrash],
  ];
  process.on('exit', onExit);
  for (const [event, fn] of handlers) process.on(event, fn);
  stdout.on('error', onStdoutError);
  stdout.write(ENTER_ALT_SCREEN);

  const dbPath = store.display;
  const rel = store.kind === 'sqlite' ? relative(process.cwd(), dbPath) : '';
  const dbLabel = rel && !rel.startsWith('..') && rel.length < dbPath.length ? rel : dbPath;

  let instance: ReturnType<typeof render> | undefined;
  let code = 0;
  try {
    instance = render(
      createElement(
        UiContext.Provider,
        { value: makeUiContext(lang, intlLocale(lang), noColorFromEnv(), asciiFromEnv()) },
        createElement(App, { controller, dbLabel, quitSignal, onForceQuit: () => forceQuit(130) }),
      ),
      // Not `incrementalRendering`: in Ink 6.8 it lands every changed line one row too low when
      // the frame is shorter than the terminal (it moves up one row too few over the trailing
      // newline), which is exactly our case (rows - 1). The standard renderer rewrites the frame,
      // at most 10 times a second (the controller coalesces), inside synchronized-output markers.
      { exitOnCtrlC: false },
    );
    await instance.waitUntilExit();
  } catch (err) {
    code = 1;
    restore();
    process.stderr.write(`aremko-mail: ${(err as Error)?.stack ?? String(err)}\n`);
  } finally {
    quitSignal.removeAllListeners();
    // Normally already stopped by the quit path; this also covers an error exit.
    await controller.dispose().catch(() => undefined);
    await store.close();
    restore();
    for (const [event, fn] of handlers) process.off(event, fn);
    stdout.off('error', onStdoutError);
  }
  process.exitCode = code;
  // Nothing should keep the process alive now; if something does, a quit TUI still exits.
  setTimeout(() => process.exit(code), 2000).unref();
}
