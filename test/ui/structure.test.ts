/**
 * src/ui depends on src/core only (and on packages): never on src/cli, where the TUI's start-up
 * (store, environment, signals) lives. Every import of every file is read with TypeScript's own
 * pre-processor (static, dynamic and re-exports alike), resolved, and checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const UI = join(ROOT, 'src/ui');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|tsx)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Where each relative import of `file` lands, as a path under the repository. */
function importsOf(file: string): { specifier: string; target: string | null }[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName }) => ({
    specifier: fileName,
    target: fileName.startsWith('.') ? relative(ROOT, resolve(dirname(file), fileName)) : null,
  }));
}

describe('structure', () => {
  it('nothing under src/ui imports from src/cli (or from anywhere but src/ui, src/core and packages)', () => {
    const all = files(UI);
    expect(all.length).toBeGreaterThan(10);
    const bad: string[] = [];
    for (const file of all)
      for (const { specifier, target } of importsOf(file)) {
        if (target === null) continue; // a package
        const top = target.split(sep).slice(0, 2).join('/');
        if (top !== 'src/ui' && top !== 'src/core') bad.push(`${relative(ROOT, file)} imports ${specifier}`);
      }
    expect(bad).toEqual([]);
  });

  it('the check sees static, dynamic and re-exported imports', () => {
    // The same reader on a file of our own making: a check that cannot see imports proves nothing.
    const seen = ts
      .preProcessFile(`import a from '../cli/x.js';\nconst b = await import('../cli/y.js');\nexport { c } from '../cli/z.js';`, true, true)
      .importedFiles.map((f) => f.fileName);
    expect(seen.sort()).toEqual(['../cli/x.js', '../cli/y.js', '../cli/z.js']);
  });
});
