import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

/** ink-testing-library's stdout has no `rows` (and a real one may report 0): assume a classic terminal. */
export const DEFAULT_ROWS = 24;
export const DEFAULT_COLUMNS = 80;

const read = (stdout: NodeJS.WriteStream) => ({
  rows: stdout.rows > 0 ? stdout.rows : DEFAULT_ROWS,
  columns: stdout.columns > 0 ? stdout.columns : DEFAULT_COLUMNS,
});

/** The terminal's size, updated on resize. */
export function useTerminalSize(): { rows: number; columns: number } {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => read(stdout));
  useEffect(() => {
    const onResize = () =>
      setSize((old) => {
        const next = read(stdout);
        return next.rows === old.rows && next.columns === old.columns ? old : next;
      });
    stdout.on('resize', onResize);
    onResize();
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
