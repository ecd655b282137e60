// tsc and esbuild do not set the executable bit on the CLI entry; npm link / npx need it. The
// entry is the file package.json's `bin` names (the bundle scripts/bundle.mjs writes).
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const file of Object.values(pkg.bin)) chmodSync(new URL(`../${file}`, import.meta.url), 0o755);
