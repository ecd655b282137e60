import { printable } from '../../core/printable.js';
import { Box, Text, useApp } from 'ink';
import { type ReactNode, useCallback, useEffect, useMemo } from 'react';
import { type AppActions, AppActionsContext, useAppActions } from '../app-context.js';
import type { TuiController } from '../controller.js';
import type { UiAction } from '../state.js';
import { noticeText } from '../describe.js';
import { useNow } from '../hooks/use-now.js';
import { useSnapshot } from '../hooks/use-snapshot.js';
import { useTerminalSize } from '../hooks/use-terminal-size.js';
import { useUiState } from '../hooks/use-ui-state.js';
import { t } from '../i18n.js';
import { isBack, KeypressProvider, KeysReady, LAYER, useKeys, useRenderPending } from '../keys.js';
import { cut, levelTone, statusTone, wrapWords } from '../theme.js';
import { useUi } from '../ui-context.js';
import { CampaignDetail } from './CampaignDetail.js';
import { CampaignList } from './CampaignList.js';
import { DialogView } from './Dialogs.js';
import { FailedList, failedQuery } from './FailedView.js';
import { HistoryView } from './HistoryView.js';
import { Line, Row, SplitLine, Tinted } from './Line.js';
import { LogView } from './LogView.js';

export interface AppProps {
  /** Made by the start-up (src/cli/tui.ts) or a test, over the store it opened. */
  controller: TuiController;
  /** Shown in the header (the database file). */
  dbLabel?: string;
  /**
   * Quit requests from outside (SIGTERM, SIGHUP…): stop without asking. A second one while
   * stopping calls `onForceQuit`.
   */
  quitSignal?: { on(event: 'quit', fn: () => void): unknown; off(event: 'quit', fn: () => void): unknown };
  /** Ctrl+C (or a second signal) while already stopping: leave at once. */
  onForceQuit?: () => void;
  /** Called once quitting has stopped every engine, just before the app exits. */
  onExit?: () => void;
}

export function App(props: AppProps) {
  return (
    <KeypressProvider>
      <AppBody {...props} />
    </KeypressProvider>
  );
}

/**
 * The keys that mean the same on every screen: Ctrl+C (quit, asking first while sending; a second
 * one while stopping leaves at once) before anything else, and — when the screen in front did not
 * take the key — `?` help, `Esc` back, `q` back or, on the list, quit.
 */
function GlobalKeys() {
  const { controller, dispatch, ui, requestQuit, forceQuit } = useAppActions();
  useKeys(
    (input, key) => {
      const s = ui();
      const ctrlC = key.ctrl && input === 'c';
      if (s.quitting) {
        if (ctrlC) forceQuit();
        return true; // stopping: nothing else to do
      }
      if (!ctrlC) return false;
      if (s.dialog?.kind === 'quit') dispatch({ type: 'quit' });
      else requestQuit();
      return true;
    },
    { isActive: true, layer: LAYER.first },
  );
  useKeys(
    (input, key) => {
      if (input === '?') {
        dispatch({ type: 'dialog', dialog: { kind: 'help' } });
        return true;
      }
      if (!isBack(input, key)) return false;
      controller.clearNotice();
      if (ui().screen !== 'list') dispatch({ type: 'back' });
      else if (input === 'q') requestQuit();
      return true;
    },
    { isActive: true, layer: LAYER.global },
  );
  return null;
}

/** Header + body + notice + footer, never taller than the terminal minus one line. */
function AppBody({ controller, dbLabel, quitSignal, onForceQuit, onExit }: AppProps) {
  const { m, fmt, theme } = useUi();
  const { exit } = useApp();
  const snap = useSnapshot(controller);
  const { rows, columns } = useTerminalSize();
  const { state: ui, ref: uiRef, dispatch: dispatchState } = useUiState();
  const renderPending = useRenderPending();
  // Keys typed after one that changes the screen wait until the screen it leads to is drawn.
  const dispatch = useCallback(
    (action: UiAction) => {
      if (dispatchState(action)) renderPending();
    },
    [dispatchState, renderPending],
  );

  const ids = useMemo(() => snap.campaigns.map((s) => s.campaign.id), [snap.campaigns]);
  const idsKey = ids.join(',');
  useEffect(() => controller.start(), [controller]);
  useEffect(() => dispatch({ type: 'sync', ids }), [idsKey]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    controller.watch(ui.screen === 'list' ? null : ui.selectedId);
  }, [controller, ui.screen, ui.selectedId]);

  // Quit: stop every engine of this window like SIGTERM (in-flight recorded, leases released), then exit.
  useEffect(() => {
    if (!ui.quitting) return;
    let live = true;
    void controller.stopAll().finally(() => {
      if (!live) return;
      onExit?.();
      exit();
    });
    return () => {
      live = false;
    };
  }, [ui.quitting, controller, exit, onExit]);

  useEffect(() => {
    if (!quitSignal) return;
    const onQuit = () => {
      if (uiRef.current.quitting) onForceQuit?.();
      else dispatch({ type: 'quit' });
    };
    quitSignal.on('quit', onQuit);
    return () => {
      quitSignal.off('quit', onQuit);
    };
  }, [quitSignal, onForceQuit, dispatch, uiRef]);

  const selected = snap.campaigns.find((s) => s.campaign.id === ui.selectedId) ?? null;
  // Tick once a second only while something counts down or moves; a paused campaign costs nothing.
  const ticking = snap.campaigns.some((s) => s.campaign.status === 'sending') || Object.keys(snap.runs).length > 0;
  const now = useNow(ticking && !ui.quitting);

  const height = Math.max(3, rows - 1);
  const notice = snap.fatal
    ? { text: t(m.notice.error, { text: snap.fatal }), tone: 'bad' as const }
    : snap.notice
      ? { text: noticeText(snap.notice, m, fmt), tone: levelTone(snap.notice.level) }
      : null;
  // A notice may take up to three lines (the "no transport" one explains how to set one).
  const noticeLines = notice ? wrapWords(notice.text, columns - 1, Math.min(3, Math.max(1, height - 4))) : [' '];
  const bodyHeight = Math.max(1, height - 2 - noticeLines.length);

  // What the screen on show reads besides the campaigns: its pictures, its failed list, a history.
  const onFailed = ui.screen === 'failed' || ui.screen === 'history';
  const failedQ = onFailed && ui.selectedId !== null ? failedQuery(ui.failed, bodyHeight, m) : undefined;
  const failedKey = JSON.stringify(failedQ ?? null);
  useEffect(() => {
    controller.watchPictures(ui.screen === 'detail' ? ui.selectedId : null);
    controller.watchRecipients(failedQ ? ui.selectedId : null, failedQ);
    controller.watchHistory(ui.screen === 'history' && ui.history ? ui.selectedId : null, ui.history?.recipientId, ui.history?.email);
  }, [controller, ui.screen, ui.selectedId, failedKey, ui.history?.recipientId, ui.history?.email]); // eslint-disable-line react-hooks/exhaustive-deps

  const requestQuit = useCallback(() => {
    if (controller.isSending) dispatch({ type: 'dialog', dialog: { kind: 'quit' } });
    else dispatch({ type: 'quit' });
  }, [controller, dispatch]);
  const actions = useMemo<AppActions>(
    () => ({ controller, dispatch, ui: () => uiRef.current, requestQuit, forceQuit: () => onForceQuit?.() }),
    [controller, dispatch, uiRef, requestQuit, onForceQuit],
  );

  // ---- layout ---------------------------------------------------------------------------
  const keys = m.keys;
  let title: ReactNode = (
    <Text wrap="truncate-end" bold>
      aremko-mail · {m.title}
    </Text>
  );
  let right: ReactNode = (
    <Text color={theme.color('muted')}>
      {cut(
        [snap.transportLabel ? `${m.transportLabel} ${snap.transportLabel}` : m.noTransport, dbLabel ? `${m.dbLabel} ${dbLabel}` : '']
          .filter(Boolean)
          .join(' · '),
        Math.max(10, Math.floor(columns / 2)),
      )}
    </Text>
  );
  // Most useful first: a narrow terminal cuts the tail.
  let hints: string[] = [keys.start, keys.pause, keys.cancel, keys.resolve, keys.log, keys.open, keys.move];
  let fixedHints = [keys.help, keys.quit];
  let body: ReactNode;

  // A screen listens to keys only while it is in front: no dialog over it, not quitting.
  const front = !ui.dialog && !ui.quitting;
  const onCampaign = ui.screen !== 'list' && selected !== null;
  if (onCampaign) {
    const c = selected.campaign;
    // Campaign names and addresses come from outside: control characters shown harmlessly.
    const name = printable(c.name);
    const heading =
      ui.screen === 'log'
        ? t(m.logTitle, { id: c.id, name })
        : ui.screen === 'failed'
          ? t(m.failedTitle, { id: c.id, name })
          : ui.screen === 'history' && ui.history
            ? t(m.historyTitle, { email: printable(ui.history.email) })
            : `aremko-mail › #${c.id} ${name}`;
    title = (
      <Text wrap="truncate-end" bold>
        {heading}
      </Text>
    );
    right = <Tinted tone={statusTone(c.status)}>{m.campaignStatus[c.status]}</Tinted>;
  }

  if (ui.quitting) {
    body = Object.keys(snap.runs).length > 0 ? <Line tone="warn">{m.stopping}</Line> : <Line> </Line>;
    hints = [];
    fixedHints = [];
  } else if (ui.dialog) {
    body = <DialogView dialog={ui.dialog} width={columns} height={bodyHeight} />;
    hints = [];
    fixedHints = [];
  } else if (onCampaign && ui.screen === 'detail') {
    body = <CampaignDetail s={selected} snap={snap} height={bodyHeight} width={columns} now={now} isActive={front} />;
    hints = [keys.start, keys.pause, keys.cancel, keys.resolve, keys.failed, keys.log];
    fixedHints = [keys.help, keys.back];
  } else if (onCampaign && ui.screen === 'log') {
    body = <LogView campaign={selected.campaign} snap={snap} top={ui.logTop} height={bodyHeight} now={now} isActive={front} />;
    hints = [keys.scroll, keys.ends];
    fixedHints = [keys.help, keys.back];
  } else if (onCampaign && ui.screen === 'failed') {
    body = (
      <FailedList campaign={selected.campaign} snap={snap} state={ui.failed} height={bodyHeight} width={columns} now={now} isActive={front} />
    );
    hints = ui.failed.filtering ? [] : [keys.move, keys.history, keys.filter, keys.resolveOne];
    fixedHints = ui.failed.filtering ? [] : [keys.help, keys.back];
  } else if (onCampaign && ui.screen === 'history' && ui.history) {
    body = (
      <HistoryView campaign={selected.campaign} snap={snap} state={ui.history} height={bodyHeight} width={columns} now={now} isActive={front} />
    );
    hints = [keys.scroll, keys.resolveOne];
    fixedHints = [keys.help, keys.back];
  } else {
    body = <CampaignList snap={snap} selectedId={ui.selectedId} height={bodyHeight} width={columns} now={now} isActive={front} />;
  }

  return (
    <AppActionsContext.Provider value={actions}>
      <GlobalKeys />
      <Box flexDirection="column" height={height} width={columns} overflow="hidden">
        <SplitLine left={title} right={right} />
        <Box flexDirection="column" height={bodyHeight} flexShrink={0} overflow="hidden">
          {body}
        </Box>
        {noticeLines.map((line, i) => (
          <Row key={`n${i}`}>
            <Line tone={notice?.tone ?? 'plain'}>{line}</Line>
          </Row>
        ))}
        <SplitLine
          left={
            <Text wrap="truncate-end" color={theme.color('muted')}>
              {hints.join('  ')}
            </Text>
          }
          right={<Text color={theme.color('muted')}>{fixedHints.join('  ')}</Text>}
        />
      </Box>
      <KeysReady />
    </AppActionsContext.Provider>
  );
}
