/**
 * `f` in a campaign's detail: its failed and in-doubt recipients — address, status, attempts,
 * when, last error — one page at a time from the store, scrollable, filtered by address or error
 * text (`/`), `Enter` for one recipient's history, `r` to resolve one in-doubt recipient.
 */
import { printable } from '../../core/printable.js';
import type { RecipientStatus } from '../../core/types.js';
import { Box, Text } from 'ink';
import { useEffect } from 'react';
import type { Campaign, Recipient } from '../../core/types.js';
import { useAppActions } from '../app-context.js';
import { storedErrorText, storedPhrasesFor } from '../event-text.js';
import type { Snapshot } from '../controller.js';
import { type Messages, t } from '../i18n.js';
import { isDown, isUp, useKeys } from '../keys.js';
import type { RecipientQuery } from '../store-extras.js';
import type { FailedView as FailedState } from '../state.js';
import { cut } from '../theme.js';
import { useUi } from '../ui-context.js';
import { Line, Row } from './Line.js';

export const FAILED_STATUSES: RecipientStatus[] = ['failed', 'in_doubt'];

/** Rows of recipients on a page of `height` lines (a status line and the column heads above). */
export const failedPageSize = (height: number) => Math.max(1, height - 2);

/**
 * The store query for what the view shows. The filter finds what the list shows: the address,
 * the server's answer as it came, and the tool's own words in the operator's language (their
 * stored English, `storedPhrasesFor`).
 */
export function failedQuery(f: FailedState, height: number, m: Messages): RecipientQuery {
  const q: RecipientQuery = { statuses: FAILED_STATUSES, limit: failedPageSize(height), offset: f.top };
  const search = f.filter.trim();
  if (!search) return q;
  const errorPhrases = storedPhrasesFor(search, m);
  return errorPhrases.length > 0 ? { ...q, search, errorPhrases } : { ...q, search };
}

/** One line of text: a stored error may hold line breaks. */
const oneLine = (s: string | null) => (s ?? '').replace(/\s+/g, ' ').trim();

interface Columns {
  address: number;
  status: number;
  attempts: number;
  when: number;
  error: number;
}

/** Widths that fit `width`; columns that do not fit are 0 (the least needed go first: when, attempts, error). */
export function fitColumns(width: number, longestAddress: number, whenWidth: number, statusWidth: number): Columns {
  const marker = 2;
  const c: Columns = {
    address: Math.max(12, Math.min(longestAddress, Math.floor((width - marker) * 0.4))),
    status: statusWidth,
    attempts: 4,
    when: whenWidth,
    error: 0,
  };
  const used = () => marker + c.address + c.status + 1 + (c.attempts ? c.attempts + 1 : 0) + (c.when ? c.when + 1 : 0);
  c.error = width - used() - 1;
  if (c.error < 12) c.when = 0;
  c.error = width - used() - 1;
  if (c.error < 12) c.attempts = 0;
  c.error = width - used() - 1;
  if (c.error < 8) {
    c.error = 0;
    c.address = Math.max(8, width - marker - c.status - 1);
  }
  return c;
}

export function FailedList({
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
  state: FailedState;
  height: number;
  width: number;
  now: number;
  isActive: boolean;
}) {
  const { m, fmt, theme } = useUi();
  const { controller, dispatch, ui } = useAppActions();
  const page = failedPageSize(height);
  const data = snap.recipients?.campaignId === campaign.id ? snap.recipients : null;
  const total = data?.total ?? 0;
  const rows = data?.rows ?? [];
  const offset = data?.query.offset ?? 0;
  const cursor = Math.min(state.cursor, Math.max(0, total - 1));

  // Fewer rows than before (one resolved, a filter typed elsewhere): keep the highlight on one.
  useEffect(() => {
    if (data && (state.cursor > Math.max(0, total - 1) || state.top > Math.max(0, total - page)))
      dispatch({ type: 'failedMove', delta: 0, total, page });
  }, [data, total, page, state.cursor, state.top, dispatch]);

  useKeys(
    (input, key) => {
      // The newest state and rows, not this render's: keys may come faster than renders.
      const f = ui().failed;
      const current = controller.getSnapshot().recipients;
      const page_ = current?.campaignId === campaign.id ? current : null;
      const n = page_?.total ?? 0;
      const selected: Recipient | undefined = page_?.rows[Math.min(f.cursor, n - 1) - page_.query.offset];
      const move = (delta: number) => dispatch({ type: 'failedMove', delta, total: n, page });
      if (f.filtering) {
        if (key.return || key.escape) dispatch({ type: 'filtering', on: false });
        else if (key.backspace || key.delete) dispatch({ type: 'filter', text: [...f.filter].slice(0, -1).join('') });
        else if (key.ctrl && input === 'u') dispatch({ type: 'filter', text: '' });
        else if (key.upArrow) move(-1);
        else if (key.downArrow) move(1);
        else if (key.pageUp) move(-page);
        else if (key.pageDown) move(page);
        else if (input && !key.ctrl && !key.meta) dispatch({ type: 'filter', text: f.filter + input });
        return true; // typing: `q`, `?` and the rest are letters of the filter
      }
      if (isUp(input, key)) move(-1);
      else if (isDown(input, key)) move(1);
      else if (key.pageUp) move(-page);
      else if (key.pageDown || input === ' ') move(page);
      else if (key.home || input === 'g') dispatch({ type: 'failedTo', where: 'top', total: n, page });
      else if (key.end || input === 'G') dispatch({ type: 'failedTo', where: 'bottom', total: n, page });
      else if (input === '/') dispatch({ type: 'filtering', on: true });
      else if (key.return) {
        if (!selected) return true;
        controller.clearNotice();
        dispatch({ type: 'openHistory', recipientId: selected.id, email: selected.email });
      } else if (input === 'r') {
        if (!selected) return true;
        if (selected.status === 'in_doubt') dispatch({ type: 'dialog', dialog: { kind: 'resolveOne', id: campaign.id, email: selected.email } });
        else controller.notify({ code: 'not_in_doubt', id: campaign.id, email: selected.email }, 'warn');
      } else return false;
      return true;
    },
    { isActive },
  );

  const tz = campaign.timeZone;
  const all = snapCounts(snap, campaign.id) ?? total;
  const top = state.filtering ? (
    <Text wrap="truncate-end">
      <Text color={theme.color('accent')}>{m.filterPrompt}</Text>
      {state.filter}
      <Text inverse> </Text>
      <Text color={theme.color('muted')}>{`  ${m.filterHelp}`}</Text>
    </Text>
  ) : (
    <Line tone="muted">
      {[
        state.filter ? t(m.failedMatching, { n: fmt.num(total), total: fmt.num(all), filter: state.filter }) : t(m.failedCount, { n: fmt.num(total) }),
        total > 0 ? t(m.failedRange, { from: fmt.num(offset + 1), to: fmt.num(offset + rows.length), total: fmt.num(total) }) : '',
      ]
        .filter(Boolean)
        .join(' · ')}
    </Line>
  );

  const whens = rows.map((r) => (r.lastAttemptAt ? fmt.time(r.lastAttemptAt, tz, now) : ''));
  const statusWidth = Math.max(...FAILED_STATUSES.map((st) => m.recipientIs[st].length), m.col.status.length) + 1;
  const cols = fitColumns(
    width,
    Math.max(m.col.address.length, ...rows.map((r) => [...r.email].length)),
    Math.max(m.col.when.length, ...whens.map((w) => w.length)),
    statusWidth,
  );
  const cells = (address: string, status: string, attempts: string, when: string, error: string) =>
    [
      cut(address, cols.address).padEnd(cols.address),
      cut(status, cols.status).padEnd(cols.status),
      cols.attempts ? attempts.padStart(cols.attempts - 1).padEnd(cols.attempts) : null,
      cols.when ? cut(when, cols.when).padEnd(cols.when) : null,
      cols.error ? cut(error, cols.error) : null,
    ]
      .filter((x) => x !== null)
      .join(' ');

  let body;
  if (!data) body = <Line tone="muted">{m.loading}</Line>;
  else if (total === 0) body = <Line>{state.filter ? t(m.failedNoMatch, { filter: state.filter }) : m.failedEmpty}</Line>;
  else
    body = rows.slice(0, page).map((r, i) => {
      const here = offset + i === cursor;
      // Addresses and server answers come from outside: control characters shown harmlessly.
      const text = cells(printable(r.email), m.recipientIs[r.status], fmt.num(r.attempts), whens[i] ?? '', printable(oneLine(r.lastError === null ? null : storedErrorText(r.lastError, m, fmt))));
      return (
        <Row key={r.id}>
          <Text
            wrap="truncate-end"
            bold={here}
            color={theme.color(here ? 'accent' : r.status === 'in_doubt' ? 'warn' : 'plain')}
          >
            {here ? '› ' : '  '}
            {text}
          </Text>
        </Row>
      );
    });

  return (
    <Box flexDirection="column">
      <Row>{top}</Row>
      <Row>
        <Line tone="muted">{'  ' + cells(m.col.address, m.col.status, m.col.attempts, m.col.when, m.col.error)}</Line>
      </Row>
      {body}
    </Box>
  );
}

function snapCounts(snap: Snapshot, id: number): number | null {
  const n = snap.campaigns.find((s) => s.campaign.id === id)?.counts;
  return n ? n.failed + n.in_doubt : null;
}
