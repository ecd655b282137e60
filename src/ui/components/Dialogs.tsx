import { Box, Text } from 'ink';
import { t } from '../i18n.js';
import type { Dialog } from '../state.js';
import { useUi } from '../ui-context.js';
import { Line, Row } from './Line.js';

/** The help overlay and the confirmations (cancel, quit while sending, in-doubt resolution). */
export function DialogView({ dialog, width, height = 24 }: { dialog: Dialog; width: number; height?: number }) {
  const { m, fmt, theme } = useUi();
  const boxWidth = Math.max(20, Math.min(width, 78));
  if (dialog.kind === 'help') {
    const keyWidth = Math.max(...m.help.map(([k]) => k.length)) + 2;
    // Border (2), title and the closing hint: what is left is for the keys.
    const room = Math.max(1, height - 4);
    const entries = m.help.length <= room ? m.help : m.help.slice(0, Math.max(0, room - 1));
    return (
      <Box flexDirection="column" flexShrink={0} borderStyle="round" borderColor={theme.color('accent')} width={boxWidth} paddingX={1}>
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
  let question: string;
  let choices: string;
  let tone: 'warn' | 'bad' = 'warn';
  switch (dialog.kind) {
    case 'cancel':
      question = t(m.confirmCancel, { id: dialog.id, name: dialog.name });
      choices = m.yesNo;
      tone = 'bad';
      break;
    case 'quit':
      question = m.confirmQuit;
      choices = m.yesNo;
      break;
    case 'resolve':
      question = t(m.resolveTitle, { n: fmt.num(dialog.count) });
      choices = m.resolveChoices;
      break;
  }
  return (
    <Box flexDirection="column" flexShrink={0} borderStyle="round" borderColor={theme.color(tone)} width={boxWidth} paddingX={1}>
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
