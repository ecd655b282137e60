import { Box, Text } from 'ink';
import { Row } from './Line.js';
import type { LogLine } from '../controller.js';
import { eventText } from '../event-text.js';
import { levelTone } from '../theme.js';
import { useUi } from '../ui-context.js';

/** Log lines, one terminal line each, times in the campaign's zone. */
export function LogLines({ lines, tz, now }: { lines: LogLine[]; tz: string | null; now: number }) {
  const { m, fmt, theme } = useUi();
  return (
    <Box flexDirection="column">
      {lines.map((l) => (
        <Row key={l.key}>
          <Text wrap="truncate-end" color={theme.color(levelTone(l.level))}>
            <Text color={theme.color('muted')}>{fmt.time(l.at, tz, now)}</Text> {eventText(l, m, fmt, tz, now)}
          </Text>
        </Row>
      ))}
    </Box>
  );
}
