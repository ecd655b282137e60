import { Box, Text } from 'ink';
import { t } from '../i18n.js';
import type { Dialog } from '../state.js';
import { useUi } from '../ui-context.js';
import { Line } from './Line.js';

/** The help overlay and the confirmations (cancel, quit while sending, in-doubt resolution). */
export function DialogView({ dialog, width }: { dialog: Dialog; width: number }) {
  const { m, fmt, theme } = useUi();
  const boxWidth = Math.max(20, Math.min(width, 78));
  if (dialog.kind === 'help') {
    const keyWidth = Math.max(...m.help.map(([k]) => k.length)) + 2;
    return (
      <Box flexDirection="column" borderStyle="round" borderColor={theme.color('accent')} width={boxWidth} paddingX={1}>
        <Line bold tone="accent">
          {m.helpTitle}
        </Line>
        {m.help.map(([key, what]) => (
          <Text key={key} wrap="truncate-end">
            <Text bold>{key.padEnd(keyWidth)}</Text>
            {what}
          </Text>
        ))}
        <Line tone="muted">{m.helpClose}</Line>
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
    <Box flexDirection="column" borderStyle="round" borderColor={theme.color(tone)} width={boxWidth} paddingX={1}>
      <Text wrap="wrap" bold>
        {question}
      </Text>
      <Line tone={tone}>{choices}</Line>
    </Box>
  );
}
