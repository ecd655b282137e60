import { describe, expect, it } from 'vitest';
import { firstUnsafeCharacter, printable, quoted } from '../../src/core/printable.js';

describe('printable', () => {
  it('leaves ordinary text exactly as it is: accents, ñ, emoji, other scripts, quotes, backslashes', () => {
    for (const text of ['José Núñez de Ñuñoa', '¡Hola! ¿Qué tal? €25', 'Ελληνικά 中文 عربى 😀', 'say "hi" \\ there', ''])
      expect(printable(text)).toBe(text);
  });

  it('shows C0 controls, DEL and C1 controls as \\xHH', () => {
    expect(printable('\u001b[31mrojo\u001b[0m')).toBe('\\x1b[31mrojo\\x1b[0m');
    expect(printable('a\r\nb\tc\u0000d\u0007e\u0008f\u007fg\u009bh\u0085')).toBe('a\\x0d\\x0ab\\x09c\\x00d\\x07e\\x08f\\x7fg\\x9bh\\x85');
  });

  it('shows line separators and bidirectional overrides as \\u{HHHH}', () => {
    expect(printable('abc\u202edef\u2066x\u2069\u2028\u2029')).toBe('abc\\u{202e}def\\u{2066}x\\u{2069}\\u{2028}\\u{2029}');
  });

  it('keeps the characters it is told to keep', () => {
    expect(printable('línea 1\nlínea 2\t\u001b', { keep: '\n\t' })).toBe('línea 1\nlínea 2\t\\x1b');
  });

  it('quotes for messages, and finds the first unsafe character', () => {
    expect(quoted('a\u001bb')).toBe('"a\\x1bb"');
    expect(firstUnsafeCharacter('ok')).toBeNull();
    expect(firstUnsafeCharacter('a\u202eb\r')).toBe('\u202e');
  });
});
