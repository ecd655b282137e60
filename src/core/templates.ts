/**
 * Subject, html and text templates over a recipient's fields, rendered with Handlebars:
 * `{{field}}` is HTML-escaped in the html part, `{{{field}}}` is raw; subject and text are
 * never escaped. A text part is made from the html (html-to-text) when there is no text template.
 */
import Handlebars from 'handlebars';
import { compile as compileHtmlToText } from 'html-to-text';
import { UserError } from './types.js';

const hbs = Handlebars.create();
/** Fields the tool itself provides to every template. */
export const BUILTIN_FIELDS = new Set(['unsubscribe_url']);
const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log']);

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

function compile(source: string, what: string, escape: boolean): HandlebarsTemplateDelegate {
  try {
    hbs.parse(source); // parse now: compile() is lazy and would only fail at the first render
    return hbs.compile(source, { noEscape: !escape, strict: false, knownHelpersOnly: false });
  } catch (err) {
    throw new UserError(`${what} template: ${describeSyntaxError((err as Error).message)}`);
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

export function compileTemplates(t: { subject: string; html: string; text: string | null }): CompiledTemplates {
  const subject = compile(t.subject, 'subject', false);
  const html = compile(t.html, 'html', true);
  const text = t.text === null ? null : compile(t.text, 'text', false);
  const fields = new Set([...templateFields(t.subject), ...templateFields(t.html), ...(t.text ? templateFields(t.text) : [])]);
  return { subject, html, text, fields: [...fields].sort() };
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

export function render(t: CompiledTemplates, context: Record<string, string>): RenderedContent {
  const html = t.html(context);
  return {
    subject: headerSafe(t.subject(context)),
    html,
    text: t.text ? t.text(context) : htmlToText(html),
  };
}
