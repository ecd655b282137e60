// Builds the shipped CLI into dist/bundle/ (package.json's `bin` names aremko-mail.cjs, made
// executable by scripts/postbuild.mjs; its #! line comes from src/cli/main.ts), each
// file with its source map (run with `node --enable-source-maps` for stacks in src/):
//
//   aremko-mail.cjs   the entry: src/cli/main.ts — the fast path (fast-path.ts), `status` with
//                     both stores, and the start of `run` (run-start.ts: its configuration, and
//                     the runs that end with nothing sending or nothing due), in one CommonJS file
//   run.cjs           `run` (src/cli/commands/run.ts) and what it loads when it has work: the
//                     engine, the transports, the templates; required by the entry only for a
//                     `run` line that has work (compiling its 230 KB was ~15 ms of every cron run)
//   better-sqlite3.cjs  better-sqlite3's JavaScript (and `bindings`), required by both files above
//                     (see sharedBetterSqlite3); its native addon stays in node_modules
//   cli.mjs + *.mjs   every other command line: yargs (bundled), every command, the TUI, as ES
//                     modules split into chunks that load on demand (Ink and React for the TUI only)
//   help.txt          the top-level --help as yargs prints it, rendered here (see main.ts)
//   locales/          yargs' messages in other languages
//
// Why: before the bundle, `status --json` loaded ~70 ES module files (yargs alone ~40) and took
// 2.7–3 × `node -e 0`. Measured on this machine (bench/RESULTS.md, start-up): an ES module costs
// about twice as much to compile as the same code in a CommonJS file, and merely having an ES
// module entry costs ~10 % of `node -e 0`; yargs costs more to load and set up than the whole
// status command. So the lines that scripts and cron run most are plain CommonJS without yargs,
// and the rest keep yargs (its help, its errors) and code splitting.
//
// Packages stay in node_modules, loaded only by the code that needs them: `require()` inside a
// CommonJS module's lazily run body, or an import in the ES chunk that needs it — never hoisted
// into the entry. Only yargs is bundled (into the ES side), and better-sqlite3's JavaScript into
// better-sqlite3.cjs for the CommonJS side (the ES side loads it from node_modules).
//
// The same module can be in a CommonJS file and in an ES chunk; a process uses one copy: the
// entry hands a whole command line either to run.cjs or to cli.mjs, never objects of its own.
// (A `run` with work is started twice: the entry's run-start.ts finds work and closes its store,
// then run.cjs reads the line, opens the store and decides again with its own modules.)
//
//   node scripts/bundle.mjs [--metafile <file>]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist/bundle');
/** Packages bundled into the ES side (with whatever they import themselves). */
const BUNDLED_PACKAGES = new Set(['yargs']);

const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const isBare = (spec) => !spec.startsWith('.') && !spec.startsWith('/') && !spec.startsWith('node:');
const fromOurCode = (importer) => importer.startsWith(join(ROOT, 'src') + '/');

/**
 * On the ES side, CommonJS packages our code imports by default export (`import Database from 'better-sqlite3'`)
 * are loaded with require(): importing CommonJS into an ES module first scans its source (and
 * that of every file it re-exports) for export names, ~6 ms for better-sqlite3 alone. The value
 * is the same: an ES module's default import of CommonJS is its module.exports.
 */
const REQUIRED_PACKAGES = new Set(['better-sqlite3', 'handlebars', 'iconv-lite', 'nodemailer']);
const requireCommonJs = {
  name: 'require-commonjs',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'import-statement' || !isBare(args.path) || !fromOurCode(args.importer)) return undefined;
      if (!REQUIRED_PACKAGES.has(packageName(args.path))) return undefined;
      return { path: args.path, namespace: 'require-commonjs' };
    });
    b.onLoad({ filter: /.*/, namespace: 'require-commonjs' }, (args) => ({
      contents: `import { createRequire } from 'node:module';\nexport default createRequire(import.meta.url)(${JSON.stringify(args.path)});\n`,
      loader: 'js',
    }));
  },
};

/** Our code's imports of packages are external (node_modules at run time) unless bundled above. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point' || !isBare(args.path) || !fromOurCode(args.importer)) return undefined;
      return BUNDLED_PACKAGES.has(packageName(args.path)) ? undefined : { path: args.path, external: true };
    });
  },
};


/**
 * The entry's hand-offs: `import('./cli.js')` stays a dynamic import of the ES side (cli.mjs);
 * `import('./commands/run.js')` becomes a require() of run.cjs, run when first called.
 */
const entryHandOffs = {
  name: 'entry-hand-offs',
  setup(b) {
    b.onResolve({ filter: /^\.\/(cli|commands\/run)\.js$/ }, (args) => {
      if (args.importer !== join(ROOT, 'src/cli/main.ts')) return undefined;
      if (args.path === './cli.js') return { path: './cli.mjs', external: true };
      return { path: 'run.cjs', namespace: 'hand-off' };
    });
    b.onResolve({ filter: /^\.\/run\.cjs$/ }, (args) => (args.namespace === 'hand-off' ? { path: './run.cjs', external: true } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'hand-off' }, () => ({ contents: "module.exports = require('./run.cjs');\n", loader: 'js' }));
  },
};

/**
 * better-sqlite3's JavaScript (its lib/: 13 module files) is bundled into one CommonJS file,
 * better-sqlite3.cjs, which aremko-mail.cjs and run.cjs both require: loading it from
 * node_modules file by file (resolving, reading, compiling each) cost ~15 ms of CPU of every
 * `status` and `run` (a script requiring it and opening a database, 31 alternated rounds).
 * One file shared by both keeps one copy per process — which matters: the native addon takes the
 * SqliteError class of the first copy that opens a database and keeps it.
 *
 * The addon stays in node_modules, found by `bindings` as before, from better-sqlite3's own
 * folder: bindings finds a package's folder from its caller's file name, which in a bundle is the
 * bundle's, so database.js names the folder (edit below; bindings is bundled with it).
 */
const sharedBetterSqlite3 = {
  name: 'shared-better-sqlite3',
  setup(b) {
    b.onResolve({ filter: /^better-sqlite3$/ }, (args) => (fromOurCode(args.importer) ? { path: './better-sqlite3.cjs', external: true } : undefined));
  },
};
const betterSqlite3Addon = {
  name: 'better-sqlite3-addon',
  setup(b) {
    // Resolved when the file runs, from dist/bundle/, as require('better-sqlite3') was.
    b.onResolve({ filter: /^better-sqlite3\/package\.json$/ }, (args) => ({ path: args.path, external: true }));
    b.onLoad({ filter: /[\\/]node_modules[\\/]better-sqlite3[\\/]lib[\\/]database\.js$/ }, (args) => {
      const s = edit(
        readFileSync(args.path, 'utf8'),
        'better-sqlite3/lib/database.js',
        "require('bindings')('better_sqlite3.node')",
        "require('bindings')({ bindings: 'better_sqlite3.node', module_root: path.dirname(require.resolve('better-sqlite3/package.json')) })",
      );
      return { contents: s, loader: 'js' };
    });
  },
};

/** What every build shares. */
const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  sourcesContent: true,
  jsx: 'automatic',
  legalComments: 'none',
  logLevel: 'warning',
};

/** CommonJS has no import.meta: its one use here, import.meta.url, is the file's own URL. */
const commonJs = {
  ...common,
  format: 'cjs',
  define: { 'import.meta.url': '__import_meta_url' },
  banner: { js: "var __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
};

/** One exact edit of a bundled package's file; the build fails if the text is not there once. */
function edit(source, file, from, to) {
  const at = source.indexOf(from);
  if (at === -1 || source.indexOf(from, at + 1) !== -1) throw new Error(`scripts/bundle.mjs: ${file} changed (looked for ${JSON.stringify(from)}); update the edit`);
  return source.slice(0, at) + to + source.slice(at + from.length);
}

/**
 * What yargs does at start-up that this program does not need, and where it looks for files:
 *
 * - It renders the full help text (cliui, string-width) after every command's handler starts, in
 *   case that handler later asks for help. Ours never do: help is shown by --help, and usage
 *   errors print their one line (main.ts's .fail). The render is dropped (usage.js
 *   cacheHelpMessage).
 * - string-width creates an Intl.Segmenter when its module is evaluated (~20 ms: ICU loads its
 *   break-iterator data). cliui and string-width are required on first use instead of imported
 *   (platform shim), so only help and messages that are laid out pay for them.
 * - Its platform shim imports node:assert for two internal sanity checks that run on every
 *   parse; the module costs ~10 ms to load. The checks stay, and load node:assert only to throw.
 * - Its messages in other languages (locales/, copied beside the bundle) and the program's
 *   package.json (--version; looked for above the folder that holds node_modules: here, above
 *   dist/bundle) are found from the bundle's own URL.
 */
const yargsForTheBundle = {
  name: 'yargs-for-the-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (args) => {
      const file = 'yargs/lib/platform-shims/esm.mjs';
      let s = readFileSync(args.path, 'utf8');
      s = edit(s, file, "import { notStrictEqual, strictEqual } from 'assert'\n", '');
      s = edit(
        s,
        file,
        '    notStrictEqual,\n    strictEqual\n',
        "    notStrictEqual: (a, e, m) => { if (Object.is(a, e)) requireFromHere('node:assert').notStrictEqual(a, e, m) },\n" +
          "    strictEqual: (a, e, m) => { if (!Object.is(a, e)) requireFromHere('node:assert').strictEqual(a, e, m) }\n",
      );
      s = edit(s, file, "import cliui from 'cliui'\n", '');
      s = edit(s, file, "import stringWidth from 'string-width';\n", '');
      s = edit(s, file, '  cliui,\n', '  cliui: (...a) => require_help_text().cliui(...a),\n');
      s = edit(s, file, '  stringWidth,\n', '  stringWidth: (...a) => require_help_text().stringWidth(...a),\n');
      s = edit(s, file, "const mainFilename = __dirname.substring(0, __dirname.lastIndexOf('node_modules'));", "const mainFilename = fileURLToPath(new URL('../..', import.meta.url));");
      s = edit(s, file, "directory: resolve(__dirname, '../../../locales')", "directory: fileURLToPath(new URL('./locales', import.meta.url))");
      // A CommonJS require() of an ES module: esbuild evaluates that module (and what it imports)
      // on the first call. The shim's own `require` (for .config files) is renamed out of the way.
      s = edit(s, file, 'const require = createRequire(import.meta.url);', 'const requireFromHere = createRequire(import.meta.url);');
      s = edit(s, file, '  require,\n', '  require: requireFromHere,\n');
      s += "\nlet helpText;\nfunction require_help_text() {\n  return (helpText ??= { cliui: require('cliui').default, stringWidth: require('string-width').default });\n}\n";
      return { contents: s, loader: 'js', resolveDir: dirname(args.path) };
    });
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]build[\\/]lib[\\/]usage\.js$/ }, (args) => {
      const s = edit(readFileSync(args.path, 'utf8'), 'yargs/build/lib/usage.js', 'cachedHelpMessage = this.help();', '/* dropped for the bundle: see scripts/bundle.mjs */');
      return { contents: s, loader: 'js' };
    });
  },
};

export async function bundle({ metafile } = {}) {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const results = await Promise.all([
    build({ ...commonJs, entryPoints: ['src/cli/main.ts'], outfile: join(OUT_DIR, 'aremko-mail.cjs'), plugins: [entryHandOffs, sharedBetterSqlite3, externalPackages], metafile: true }),
    build({ ...commonJs, entryPoints: ['src/cli/commands/run.ts'], outfile: join(OUT_DIR, 'run.cjs'), plugins: [sharedBetterSqlite3, externalPackages], metafile: true }),
    build({
      ...common,
      format: 'cjs',
      stdin: { contents: "module.exports = require('better-sqlite3');\n", resolveDir: ROOT, sourcefile: 'better-sqlite3.cjs', loader: 'js' },
      outfile: join(OUT_DIR, 'better-sqlite3.cjs'),
      plugins: [betterSqlite3Addon],
      metafile: true,
    }),
    build({
      ...common,
      format: 'esm',
      entryPoints: { cli: 'src/cli/cli.ts' },
      outdir: OUT_DIR,
      outExtension: { '.js': '.mjs' },
      chunkNames: '[name]-[hash]',
      splitting: true,
      plugins: [requireCommonJs, externalPackages, yargsForTheBundle],
      metafile: true,
    }),
  ]);
  mkdirSync(join(OUT_DIR, 'locales'), { recursive: true });
  cpSync(join(ROOT, 'node_modules/yargs/locales'), join(OUT_DIR, 'locales'), { recursive: true });
  // The top-level help, as yargs prints it (100 columns, English): main.ts prints this file when
  // yargs would print exactly that, instead of loading every command to render it again.
  const help = spawnSync(process.execPath, [join(OUT_DIR, 'aremko-mail.cjs'), '--help'], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'en_US.UTF-8', LC_MESSAGES: '', LANG: '', LANGUAGE: '' },
  });
  if (help.status !== 0 || !help.stdout.includes('aremko-mail status')) throw new Error(`bundle: --help failed (${help.status}): ${help.stderr}`);
  writeFileSync(join(OUT_DIR, 'help.txt'), help.stdout);
  if (metafile) {
    const outputs = Object.assign({}, ...results.map((r) => r.metafile.outputs));
    const inputs = Object.assign({}, ...results.map((r) => r.metafile.inputs));
    writeFileSync(metafile, JSON.stringify({ inputs, outputs }));
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--metafile');
  await bundle({ metafile: i === -1 ? undefined : process.argv[i + 1] });
}
