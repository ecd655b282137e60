import { Box, type Key, Text, useApp, useInput, useStdin } from 'ink';
import { type ReactNode, useCallback, useEffect, useMemo } from 'react';
import type { TuiController } from '../controller.js';
import { noticeText } from '../describe.js';
import { t } from '../i18n.js';
import { useNow } from '../hooks/use-now.js';
import { useSnapshot } from '../hooks/use-snapshot.js';
import { useTerminalSize } from '../hooks/use-terminal-size.js';
import { useUiState } from '../hooks/use-ui-state.js';
import { cut, levelTone, statusTone, wrapWords } from '../theme.js';
import { useUi } from '../ui-context.js';
import { CampaignDetail } from './CampaignDetail.js';
import { CampaignList } from './CampaignList.js';
import { DialogView } from './Dialogs.js';
import { Line, Row, SplitLine, Tinted } from './Line.js';
import { LogView } from './LogView.js';

export interface AppProps {
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

/** Header + body + notice + footer, never taller than the terminal minus one line. */
export function App({ controller, dbLabel, quitSignal, onForceQuit, onExit }: AppProps) {
  const { m, fmt, theme } = useUi();
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const snap = useSnapshot(controller);
  const { rows, columns } = useTerminalSize();
  const { state: ui, ref: uiRef, dispatch } = useUiState();

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
  const logPageSize = Math.max(1, bodyHeight - 1);

  const requestQuit = useCallback(() => {
    if (controller.isSending) dispatch({ type: 'dialog', dialog: { kind: 'quit' } });
    else dispatch({ type: 'quit' });
  }, [controller, dispatch]);

  const onKey = useCallback(
    (input: string, key: Key) => {
      const s = uiRef.current;
      const ctrlC = key.ctrl && input === 'c';
      if (s.quitting) {
        if (ctrlC) onForceQuit?.();
        return;
      }
      const yes = (m.yesKeys as string[]).includes(input.toLowerCase());
      const no = input === 'n' || input === 'N' || key.escape || input === 'q';
      const d = s.dialog;
      if (ctrlC) {
        if (d?.kind === 'quit') dispatch({ type: 'quit' });
        else requestQuit();
        return;
      }
      if (d) {
        switch (d.kind) {
          case 'help':
            if (key.escape || input === '?' || input === 'q' || key.return) dispatch({ type: 'closeDialog' });
            return;
          case 'cancel':
            if (yes) {
              dispatch({ type: 'closeDialog' });
              void controller.cancel(d.id);
            } else if (no) dispatch({ type: 'closeDialog' });
            return;
          case 'resolve':
            if (input === 'r' || input === 'm') {
              dispatch({ type: 'closeDialog' });
              void controller.resolve(d.id, input === 'r' ? 'resend' : 'mark-sent');
            } else if (no) dispatch({ type: 'closeDialog' });
            return;
          case 'quit':
            if (yes) dispatch({ type: 'quit' });
            else if (no) dispatch({ type: 'closeDialog' });
            return;
        }
      }
      if (input === '?') return dispatch({ type: 'dialog', dialog: { kind: 'help' } });

      const current = controller.getSnapshot();
      const ids = current.campaigns.map((x) => x.campaign.id);
      const id = s.selectedId;
      const summary = current.campaigns.find((x) => x.campaign.id === id);

      if (s.screen === 'log') {
        const total = current.watchedId === id ? current.log.length : 0;
        const scroll = (delta: number) => dispatch({ type: 'scroll', delta, total, page: logPageSize });
        if (key.upArrow || input === 'k') scroll(-1);
        else if (key.downArrow || input === 'j') scroll(1);
        else if (key.pageUp) scroll(-logPageSize);
        else if (key.pageDown || input === ' ') scroll(logPageSize);
        else if (key.home || input === 'g') dispatch({ type: 'scrollTo', where: 'top' });
        else if (key.end || input === 'G') dispatch({ type: 'scrollTo', where: 'bottom' });
        else if (key.escape || input === 'q') {
          controller.clearNotice();
          dispatch({ type: 'back' });
        }
        return;
      }

      if (key.upArrow || input === 'k') return dispatch({ type: 'move', delta: -1, ids });
      if (key.downArrow || input === 'j') return dispatch({ type: 'move', delta: 1, ids });
      if (key.escape || input === 'q') {
        controller.clearNotice();
        if (s.screen === 'detail') return dispatch({ type: 'back' });
        if (input === 'q') requestQuit();
        return;
      }
      if (id === null || !summary) return;
      if (key.return) {
        controller.clearNotice();
        return dispatch({ type: 'open', id });
      }
      switch (input) {
        case 's':
          void controller.send(id);
          return;
        case 'p':
          void controller.pause(id);
          return;
        case 'c': {
          const st = summary.campaign.status;
          if (st === 'draft' || st === 'sending' || st === 'paused')
            dispatch({ type: 'dialog', dialog: { kind: 'cancel', id, name: summary.campaign.name } });
          else void controller.cancel(id); // says why not
          return;
        }
        case 'r':
          if (summary.counts.in_doubt > 0) dispatch({ type: 'dialog', dialog: { kind: 'resolve', id, count: summary.counts.in_doubt } });
          else controller.notify({ code: 'no_in_doubt', id }, 'warn');
          return;
        case 'l':
          controller.clearNotice();
          dispatch({ type: 'openLog', id });
          return;
      }
    },
    [controller, dispatch, uiRef, requestQuit, onForceQuit, logPageSize, m],
  );
  // Ink hands a run of plain characters that arrive together (fast typing, a paste, tmux
  // send-keys "j Enter") to the handler as one string: take them one key at a time.
  const onInput = useCallback(
    (input: string, key: Key) => {
      if (input.length <= 1 || key.ctrl || key.meta || input.includes('\u001B')) return onKey(input, key);
      for (const ch of input) {
        const code = ch.codePointAt(0)!;
        const single: Key = { ...key, return: ch === '\r' || ch === '\n', ctrl: code < 32 && ch !== '\r' && ch !== '\n', shift: /[A-Z]/.test(ch) };
        onKey(single.ctrl ? String.fromCharCode(code + 96) : single.return ? '' : ch, single);
      }
    },
    [onKey],
  );
  useInput(onInput, { isActive: Boolean(isRawModeSupported) });

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

  const onCampaign = (ui.screen === 'detail' || ui.screen === 'log') && selected !== null;
  if (onCampaign) {
    const c = selected.campaign;
    title = (
      <Text wrap="truncate-end" bold>
        {ui.screen === 'log' ? t(m.logTitle, { id: c.id, name: c.name }) : `aremko-mail › #${c.id} ${c.name}`}
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
    body = <CampaignDetail s={selected} snap={snap} height={bodyHeight} width={columns} now={now} />;
    hints = [keys.start, keys.pause, keys.cancel, keys.resolve, keys.log];
    fixedHints = [keys.help, keys.back];
  } else if (onCampaign) {
    body = <LogView campaign={selected.campaign} snap={snap} top={ui.logTop} height={bodyHeight} now={now} />;
    hints = [keys.scroll, keys.ends];
    fixedHints = [keys.help, keys.back];
  } else {
    body = <CampaignList snap={snap} selectedId={ui.selectedId} height={bodyHeight} width={columns} now={now} />;
  }

  return (
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
  );
}
