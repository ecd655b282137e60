import { printable } from '../../core/printable.js';
import { Box, Text } from 'ink';
import { useAppActions } from '../app-context.js';
import { t } from '../i18n.js';
import { isBack, type Key, LAYER, useKeys } from '../keys.js';
import type { Dialog } from '../state.js';
import { useUi } from '../ui-context.js';
import { Line, Row } from './Line.js';

/**
 * The help overlay and the questions (cancel, quit while sending, in-doubt resolution for all or
 * for one recipient). Each owns its keys while it is open and takes every key: nothing behind a
 * dialog reacts (Ctrl+C, which quits from anywhere, is handled before any dialog sees it).
 */
export function DialogView({ dialog, width, height = 24 }: { dialog: Dialog; width: number; height?: number }) {
  const boxWidth = Math.max(20, Math.min(width, 78));
  switch (dialog.kind) {
    case 'help':
      return <HelpDialog width={boxWidth} height={height} />;
    case 'cancel':
    case 'quit':
      return <ConfirmDialog dialog={dialog} width={boxWidth} />;
    case 'resolve':
    case 'resolveOne':
      return <ResolveDialog dialog={dialog} width={boxWidth} />;
  }
}

/** A dialog's keys: `handle` decides, and every key stops here. */
function useDialogKeys(handle: (input: string, key: Key) => void) {
  useKeys(
    (input, key) => {
      handle(input, key);
      return true;
    },
    { isActive: true, layer: LAYER.dialog },
  );
}

function HelpDialog({ width, height }: { width: number; height: number }) {
  const { m, theme } = useUi();
  const { dispatch } = useAppActions();
  useDialogKeys((input, key) => {
    if (isBack(input, key) || input === '?' || key.return) dispatch({ type: 'closeDialog' });
  });
  const keyWidth = Math.max(...m.help.map(([k]) => k.length)) + 2;
  // Border (2), title and the closing hint: what is left is for the keys.
  const room = Math.max(1, height - 4);
  const entries = m.help.length <= room ? m.help : m.help.slice(0, Math.max(0, room - 1));
  return (
    <Box flexDirection="column" flexShrink={0} borderStyle="round" borderColor={theme.color('accent')} width={width} paddingX={1}>
      <Row>
        <Line bold tone="accent">
          {m.helpTitle}
        </Line>
      </Row>
      {entries.map(([key, what]) => (
        <Row key={key}>
          <Text wrap="truncate-end">
            <Text bold>{key.padEnd(keyWidth)}</Text>
            {what}
          </Text>
        </Row>
      ))}
      {entries.length < m.help.length && (
        <Row>
          <Line tone="muted">…</Line>
        </Row>
      )}
      <Row>
        <Line tone="muted">{m.helpClose}</Line>
      </Row>
    </Box>
  );
}

const isNo = (input: string, key: Key) => input === 'n' || input === 'N' || isBack(input, key);

function ConfirmDialog({ dialog, width }: { dialog: Extract<Dialog, { kind: 'cancel' | 'quit' }>; width: number }) {
  const { m } = useUi();
  const { controller, dispatch } = useAppActions();
  useDialogKeys((input, key) => {
    if ((m.yesKeys as string[]).includes(input.toLowerCase())) {
      if (dialog.kind === 'quit') return dispatch({ type: 'quit' });
      dispatch({ type: 'closeDialog' });
      void controller.actions.cancel(dialog.id);
    } else if (isNo(input, key)) dispatch({ type: 'closeDialog' });
  });
  const question = dialog.kind === 'cancel' ? t(m.confirmCancel, { id: dialog.id, name: dialog.name }) : m.confirmQuit;
  return <Question question={question} choices={m.yesNo} tone={dialog.kind === 'cancel' ? 'bad' : 'warn'} width={width} />;
}

function ResolveDialog({ dialog, width }: { dialog: Extract<Dialog, { kind: 'resolve' | 'resolveOne' }>; width: number }) {
  const { m, fmt } = useUi();
  const { controller, dispatch } = useAppActions();
  useDialogKeys((input, key) => {
    if (input === 'r' || input === 'm') {
      dispatch({ type: 'closeDialog' });
      const mode = input === 'r' ? 'resend' : 'mark-sent';
      if (dialog.kind === 'resolve') void controller.actions.resolve(dialog.id, mode);
      else void controller.actions.resolveOne(dialog.id, dialog.email, mode);
    } else if (isNo(input, key)) dispatch({ type: 'closeDialog' });
  });
  return dialog.kind === 'resolve' ? (
    <Question question={t(m.resolveTitle, { n: fmt.num(dialog.count) })} choices={m.resolveChoices} tone="warn" width={width} />
  ) : (
    <Question question={t(m.resolveOneTitle, { email: printable(dialog.email) })} choices={m.resolveOneChoices} tone="warn" width={width} />
  );
}

function Question({ question, choices, tone, width }: { question: string; choices: string; tone: 'warn' | 'bad'; width: number }) {
  const { theme } = useUi();
  return (
    <Box flexDirection="column" flexShrink={0} borderStyle="round" borderColor={theme.color(tone)} width={width} paddingX={1}>
      <Box flexShrink={0}>
        <Text wrap="wrap" bold>
          {question}
        </Text>
      </Box>
      <Row>
        <Line tone={tone}>{choices}</Line>
      </Row>
    </Box>
  );
}
