import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useUi } from '../ui-context.js';
import type { Tone } from '../theme.js';

/** One terminal line: never wraps (a wrapped line would push the screen past its height). */
export function Line({ children, tone = 'plain', bold, dim }: { children?: ReactNode; tone?: Tone; bold?: boolean; dim?: boolean }) {
  const { theme } = useUi();
  return (
    <Text wrap="truncate-end" color={theme.color(tone)} bold={bold} dimColor={dim}>
      {children ?? ' '}
    </Text>
  );
}

/** A line with a flexible left part (truncated first) and a right part kept whole. */
export function SplitLine({ left, right }: { left: ReactNode; right: ReactNode }) {
  return (
    <Box flexDirection="row" height={1} flexShrink={0} overflow="hidden">
      <Box flexGrow={1} flexShrink={1} overflow="hidden">
        {left}
      </Box>
      <Box flexShrink={0} marginLeft={1}>
        {right}
      </Box>
    </Box>
  );
}

/** Colour by meaning (nothing under NO_COLOR). */
export function Tinted({ tone, bold, children }: { tone: Tone; bold?: boolean; children: ReactNode }) {
  const { theme } = useUi();
  return (
    <Text color={theme.color(tone)} bold={bold}>
      {children}
    </Text>
  );
}

/** A one-line slot that never shrinks: when space runs out the screen is cut at the bottom, never overprinted. */
export function Row({ children }: { children: ReactNode }) {
  return (
    <Box height={1} flexShrink={0} overflow="hidden">
      {children}
    </Box>
  );
}
