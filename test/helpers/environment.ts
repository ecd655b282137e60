/** Runs `fn` with these environment variables set (undefined: unset), then puts them back as they were. */
export function withEnvironment<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) if (x === undefined) delete process.env[k];
    else process.env[k] = x;
  };
  put(vars);
  try {
    return fn();
  } finally {
    put(saved);
  }
}
