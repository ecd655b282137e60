/**
 * One recipient's history (Enter in the failed list): where it stands, then every attempt and
 * answer, oldest first — time, attempt n, what came of it, the server's answer or the error in
 * full (wrapped). Scrollable; `r` resolves it when it is in doubt.
 */
import { printable } from '../../core/printable.js';
import { Box, Text } from 'ink';
import type { Campaign, StoredEvent } from '../../core/types.js';
import { useAppActions } from '../app-context.js';
import type { RecipientHistory, Snapshot } from '../controller.js';
import { eventText, storedErrorText } from '../event-text.js';
import { type Formatter, type Messages, t } from '../i18n.js';
import { isDown, isUp, useKeys } from '../keys.js';
import type { HistoryView as HistoryState } from '../state.js';
import { levelTone, type Tone, wrapWords } from '../theme.js';
import { useUi } from '../ui-context.js';
import { Line, Row } from './Line.js';

export interface HistoryLine {
  key: string;
  text: string;
  tone: Tone;
  /** The time column (muted), on the first line of an entry. */
  time?: string;
}

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
/** Answers wrap to at most this many lines each. */
const MAX_ANSWER_LINES = 4;

const TONES: Record<string, Tone> = { sent: 'good', failed: 'bad', retry_scheduled: 'warn', in_doubt: 'warn' };

/** The history as terminal lines of `width` columns: a time column, then the text. */
export function historyLines(
  h: RecipientHistory,
  m: Messages,
  fmt: Formatter,
  tz: string | null,
  now: number,
  width: number,
): { lines: HistoryLine[]; timeWidth: number } {
  const timeWidth = Math.max(0, ...h.events.map((e) => fmt.time(e.at, tz, now).length));
  const lines: HistoryLine[] = [];
  for (const e of h.events) lines.push(...entryLines(e, m, fmt, tz, now, width - timeWidth - 1));
  return { lines, timeWidth };
}

function entryLines(e: StoredEvent, m: Messages, fmt: Formatter, tz: string | null, now: number, width: number): HistoryLine[] {
  const d = e.data ?? {};
  const time = fmt.time(e.at, tz, now);
  const outcome = (m.attemptOutcome as Record<string, string>)[e.type];
  if (!outcome) {
    // Not an attempt (an operator's decision, a type this version does not know): the log's words.
    const text = eventText({ key: `e${e.id}`, at: e.at, level: e.level, type: e.type, data: d, message: e.message }, m, fmt, tz, now);
    return [{ key: `e${e.id}`, time, text, tone: levelTone(e.level) }];
  }
  const head = [
    typeof d.attempt === 'number' ? t(m.attemptN, { n: fmt.num(d.attempt) }) : '',
    outcome,
    typeof d.batch === 'number' ? t(m.batchN, { n: fmt.num(d.batch) }) : '',
    e.type === 'retry_scheduled' && typeof d.retryAt === 'number' ? t(m.retryAt, { time: fmt.time(d.retryAt, tz, now) }) : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const lines: HistoryLine[] = [{ key: `e${e.id}`, time, text: head, tone: TONES[e.type] ?? 'plain' }];
  // The server's words come from outside: control characters shown harmlessly.
  const answer = [printable(storedErrorText(str(d.response ?? d.error), m, fmt).replace(/\s+/g, ' ').trim()), d.providerId ? `(${printable(str(d.providerId))})` : '']
    .filter(Boolean)
    .join(' ');
  if (answer) {
    const indent = '  ';
    wrapWords(answer, Math.max(10, width - indent.length), MAX_ANSWER_LINES).forEach((text, i) =>
      lines.push({ key: `e${e.id}a${i}`, text: indent + text, tone: 'muted' }),
    );
  }
  return lines;
}

export function HistoryView({
  campaign,
  snap,
  state,
  height,
  width,
  now,
  isActive,
}: {
  campaign: Campaign;
  snap: Snapshot;
  state: HistoryState;
  height: number;
  width: number;
  now: number;
  isActive: boolean;
}) {
  const { m, fmt, theme } = useUi();
  const { controller, dispatch, ui } = useAppActions();
  const tz = campaign.timeZone;
  const h = snap.history?.recipientId === state.recipientId && snap.history.campaignId === campaign.id ? snap.history : null;
  const { lines, timeWidth } = h ? historyLines(h, m, fmt, tz, now, width) : { lines: [], timeWidth: 0 };
  const page = Math.max(1, height - 1);

  useKeys(
    (input, key) => {
      const hv = ui().history;
      if (!hv) return false;
      const scroll = (delta: number) => dispatch({ type: 'historyScroll', delta, total: lines.length, page });
      if (isUp(input, key)) scroll(-1);
      else if (isDown(input, key)) scroll(1);
      else if (key.pageUp) scroll(-page);
      else if (key.pageDown || input === ' ') scroll(page);
      else if (key.home || input === 'g') scroll(-lines.length);
      else if (key.end || input === 'G') scroll(lines.length);
      else if (input === 'r') {
        const r = controller.getSnapshot().history?.recipient;
        if (r?.status === 'in_doubt') dispatch({ type: 'dialog', dialog: { kind: 'resolveOne', id: campaign.id, email: r.email } });
        else controller.notify({ code: 'not_in_doubt', id: campaign.id, email: hv.email }, 'warn');
      } else return false;
      return true;
    },
    { isActive },
  );

  const r = h?.recipient;
  const head = !h
    ? m.loading
    : !r
      ? m.historyGone
      : [
          t(m.historyHead, { status: m.recipientIs[r.status], attempts: fmt.num(r.attempts), batch: r.batch === null ? m.unknown : fmt.num(r.batch) }),
          r.lastAttemptAt ? fmt.time(r.lastAttemptAt, tz, now) : '',
        ]
          .filter(Boolean)
          .join(' · ');
  const top = Math.min(state.top, Math.max(0, lines.length - page));
  const shown = lines.slice(top, top + page);
  return (
    <Box flexDirection="column">
      <Row>
        <Line tone={r?.status === 'in_doubt' ? 'warn' : r?.status === 'failed' ? 'bad' : 'plain'} bold>
          {head}
        </Line>
      </Row>
      {h && lines.length === 0 && (
        <Row>
          <Line tone="muted">{m.historyEmpty}</Line>
        </Row>
      )}
      {shown.map((l) => (
        <Row key={l.key}>
          <Text wrap="truncate-end" color={theme.color(l.tone)}>
            <Text color={theme.color('muted')}>{(l.time ?? '').padEnd(timeWidth)}</Text>
            {timeWidth > 0 ? ' ' : ''}
            {l.text}
          </Text>
        </Row>
      ))}
    </Box>
  );
}
