// tsc does not set the executable bit on the CLI entry; npm link / npx need it.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
