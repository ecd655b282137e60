/**
 * Text from outside (campaign names, CSV values, addresses, server replies) made safe to print
 * on a terminal: characters that a terminal would act on instead of showing are shown as
 * escapes, and everything else — accents, ñ, emoji, any script — is left exactly as it is.
 *
 * Shown as `\xHH`: C0 controls (U+0000–U+001F: ESC starts colour and cursor sequences, CR moves
 * back to the start of the line, BS erases), DEL (U+007F) and C1 controls (U+0080–U+009F: U+009B
 * is a one-byte CSI on some terminals). Shown as `\u{HHHH}`: the Unicode line and paragraph
 * separators (U+2028, U+2029) and bidirectional overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069), which reorder what follows them on the screen ("Trojan Source").
 *
 * No dependencies, pure: usable from core, the CLI and the TUI alike.
 */

export interface PrintableOptions {
  /** Control characters to leave as they are, e.g. "\n" for a multi-line text part, "\t". */
  keep?: string;
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const ANY_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function escape(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** `text` with every character a terminal would act on shown as an escape (`\x1b`, `\u{202e}`). */
export function printable(text: string, options: PrintableOptions = {}): string {
  if (!ANY_UNSAFE.test(text)) return text; // the common case: nothing to copy
  const keep = options.keep ?? '';
  return text.replace(UNSAFE, (ch) => (keep.includes(ch) ? ch : escape(ch)));
}

/** The first character of `text` that `printable` would escape, or null. */
export function firstUnsafeCharacter(text: string): string | null {
  return ANY_UNSAFE.exec(text)?.[0] ?? null;
}

/** `text` in double quotes for a message, made printable: `"Aremko \x1b[31m"`. */
export function quoted(text: string): string {
  return `"${printable(text)}"`;
}
