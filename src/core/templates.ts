/**
 * Subject, html and text templates over a recipient's fields, rendered with Handlebars:
 * `{{field}}` is HTML-escaped in the html part, `{{{field}}}` is raw; subject and text are
 * never escaped. A text part is made from the html (html-to-text) when there is no text template.
 */
import Handlebars from 'handlebars';
import { compile as compileHtmlToText } from 'html-to-text';
import { printable } from './printable.js';
import { UserError } from './types.js';

const hbs = Handlebars.create();
/** Fields the tool itself provides to every template. */
export const BUILTIN_FIELDS = new Set(['unsubscribe_url']);
/**
 * The helpers a template may call: Handlebars' own, less `log` (it writes to the console, in
 * the middle of a run's log lines) and the `helperMissing`/`blockHelperMissing` internals.
 * Nothing else is registered, so any other helper would fail at every recipient.
 */
export const HELPERS = ['if', 'unless', 'each', 'with', 'lookup'] as const;
const KNOWN_HELPERS = new Set<string>(HELPERS);
/** Names that are helpers, not fields, where they head a block or a call. */
const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log']);

/**
 * Size limits in bytes (UTF-8). Every message is rendered from the templates, and the text part
 * is made from the rendered html: at 512 KiB of html that is ~0.4 s of CPU per message, at 5 MB
 * it was 20 s and 1.8 GB. Real newsletters are well under 100 KB (Gmail clips beyond 102 KB).
 */
export const TEMPLATE_LIMITS = { subject: 1024, html: 512 * 1024, text: 512 * 1024 } as const;

export type TemplateName = keyof typeof TEMPLATE_LIMITS;

/**
 * A template that cannot be rendered. Exit 1 where a stored campaign is used (preview, start);
 * `campaign create` refuses the same with exit 2 (validateSettings).
 */
export class TemplateError extends UserError {
  constructor(
    readonly template: TemplateName,
    readonly problem: string,
  ) {
    super(`${template} template: ${problem}`);
    this.name = 'TemplateError';
  }
}

export interface CompiledTemplates {
  subject: HandlebarsTemplateDelegate;
  html: HandlebarsTemplateDelegate;
  text: HandlebarsTemplateDelegate | null;
  /** Every recipient field the templates use, as written in them. */
  fields: string[];
}

export interface RenderedContent {
  subject: string;
  html: string;
  text: string;
}

/**
 * Handlebars parse errors span four lines ("Parse error on line 1:", the excerpt, a caret, the
 * expected tokens); an operator needs where and what on one line.
 */
function describeSyntaxError(message: string): string {
  const lines = message.split('\n');
  if (!lines[0]!.startsWith('Parse error') || lines.length < 4) return lines[0]!;
  const got = /got '([^']+)'$/.exec(lines[lines.length - 1]!)?.[1];
  const what = got === 'EOF' ? 'unexpected end of template (a {{#block}} left open?)' : `unexpected ${got ?? 'token'}`;
  return `${lines[0]!.replace(/:$/, '')} near "${lines[1]!.trim()}": ${what}`;
}

const formatSize = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`;

/** The source of a node, shortened, for a message: `{{> firma}}`. */
function excerpt(source: string, node: hbs.AST.Node): string {
  const lines = source.split('\n');
  const { start, end } = node.loc;
  const text =
    start.line === end.line
      ? lines[start.line - 1]!.slice(start.column, end.column)
      : lines[start.line - 1]!.slice(start.column) + '…';
  return JSON.stringify(printable(text.length > 60 ? `${text.slice(0, 59)}…` : text));
}

const nameOf = (path: hbs.AST.Expression) => (path.type === 'PathExpression' ? (path as hbs.AST.PathExpression).original : null);

/**
 * What Handlebars would accept at compile time and fail on at render time, for every recipient:
 * partials and decorators (none are registered), and calls of helpers that do not exist.
 * `{{field}}` and a section `{{#field}}…{{/field}}` over a field are not calls.
 */
function unsupported(source: string, program: hbs.AST.Program): string | null {
  let problem: string | null = null;
  const at = (node: hbs.AST.Node) => `line ${node.loc.start.line}: ${excerpt(source, node)}`;
  const visit = (node: any): void => {
    if (problem || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    switch (node.type) {
      case 'PartialStatement':
      case 'PartialBlockStatement':
        problem = `${at(node)} is a partial; partials are not supported (write that part into the template itself)`;
        return;
      case 'Decorator':
      case 'DecoratorBlock':
        problem = `${at(node)} is a decorator; decorators and inline partials are not supported`;
        return;
      case 'MustacheStatement':
      case 'BlockStatement':
      case 'SubExpression': {
        const isCall = node.type === 'SubExpression' || node.params.length > 0 || (node.hash && node.hash.pairs.length > 0);
        const name = nameOf(node.path);
        if (isCall && (name === null || !KNOWN_HELPERS.has(name))) {
          const known = `helpers: ${HELPERS.join(', ')}; a field is written {{name}}`;
          problem =
            name === 'log'
              ? `${at(node)} uses the log helper, which is not supported (it would write into the run's log)`
              : `${at(node)} calls ${name === null ? 'something that is not a helper' : `an unknown helper "${printable(name)}"`} (${known})`;
          return;
        }
        break;
      }
    }
    for (const key of Object.keys(node)) if (key !== 'loc') visit(node[key]);
  };
  visit(program);
  return problem;
}

function compile(source: string, what: TemplateName, escape: boolean): HandlebarsTemplateDelegate {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > TEMPLATE_LIMITS[what])
    throw new TemplateError(
      what,
      `it is ${bytes} bytes (${formatSize(bytes)}); at most ${TEMPLATE_LIMITS[what]} (${formatSize(TEMPLATE_LIMITS[what])}): every message is built from it`,
    );
  let program: hbs.AST.Program;
  try {
    program = hbs.parse(source); // parse now: compile() is lazy and would only fail at the first render
  } catch (err) {
    throw new TemplateError(what, describeSyntaxError((err as Error).message));
  }
  const problem = unsupported(source, program);
  if (problem) throw new TemplateError(what, problem);
  // knownHelpersOnly: no helper can be looked up at render time beyond those checked above.
  return hbs.compile(source, { noEscape: !escape, strict: false, knownHelpersOnly: true, knownHelpers: { log: false } });
}

/**
 * Renders each template once with every field it uses set, so that what only fails at render
 * time (a helper given the wrong number of arguments: `{{#if}}`) is refused now, naming the
 * template, instead of failing every recipient later.
 */
function trialRender(t: Omit<CompiledTemplates, 'fields'>, fields: string[]): void {
  const context: Record<string, string> = { email: 'ana@example.cl', unsubscribe_url: 'https://example.cl/baja' };
  for (const f of fields) context[f] ??= 'x';
  for (const what of ['subject', 'html', 'text'] as const) {
    const template = t[what];
    if (!template) continue;
    try {
      template(context);
    } catch (err) {
      throw new TemplateError(what, `it cannot be rendered: ${printable(String((err as Error).message).split('\n')[0]!)}`);
    }
  }
}

/**
 * Field names used by a template: `{{name}}`, `{{{name}}}`, `{{#if name}}`… as written: lookups
 * are case-sensitive, so `{{Nombre}}` must be reported (and found missing), not folded to `nombre`.
 */
export function templateFields(source: string): string[] {
  const found = new Set<string>();
  const visit = (node: any): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    if (node.type === 'PathExpression') {
      const head = node.parts?.[0];
      if (head && !node.data && node.depth === 0 && !BLOCK_HELPERS.has(node.original)) found.add(String(head));
      return;
    }
    for (const key of Object.keys(node)) if (key !== 'loc') visit(node[key]);
  };
  visit(hbs.parse(source));
  for (const b of BUILTIN_FIELDS) found.delete(b);
  return [...found].sort();
}

/**
 * Compiles the three templates, refusing (TemplateError, naming the template and what is wrong)
 * any that is too large, not valid Handlebars, uses a partial, a decorator or a helper that
 * does not exist, or fails to render with every field it uses set.
 */
export function compileTemplates(t: { subject: string; html: string; text: string | null }): CompiledTemplates {
  const subject = compile(t.subject, 'subject', false);
  const html = compile(t.html, 'html', true);
  const text = t.text === null ? null : compile(t.text, 'text', false);
  const fields = [...new Set([...templateFields(t.subject), ...templateFields(t.html), ...(t.text ? templateFields(t.text) : [])])].sort();
  trialRender({ subject, html, text }, fields);
  return { subject, html, text, fields };
}

/** Header values never carry CR or LF, whatever a recipient's data holds. */
export function headerSafe(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}

// Compiled once: convert() re-parses its options and selectors for every call, which was
// 15–20 % of the CPU of a send (bench/RESULTS.md); the output is byte-identical.
const htmlToTextConverter = compileHtmlToText({ wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] });

export function htmlToText(html: string): string {
  return htmlToTextConverter(html);
}

/** One template applied to one recipient; what it throws becomes a one-line TemplateError. */
function apply(template: HandlebarsTemplateDelegate, what: TemplateName, context: Record<string, string>): string {
  try {
    return template(context);
  } catch (err) {
    throw new TemplateError(what, `it cannot be rendered for this recipient: ${printable(String((err as Error).message).split('\n')[0]!)}`);
  }
}

export function render(t: CompiledTemplates, context: Record<string, string>): RenderedContent {
  const html = apply(t.html, 'html', context);
  return {
    subject: headerSafe(apply(t.subject, 'subject', context)),
    html,
    text: t.text ? apply(t.text, 'text', context) : htmlToText(html),
  };
}
