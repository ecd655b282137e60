/** What every component needs besides data: words, formatting, colours. */
import { createContext, useContext } from 'react';
import { Formatter, type Lang, MESSAGES, type Messages } from './i18n.js';
import { makeTheme, type Theme } from './theme.js';

export interface UiContextValue {
  lang: Lang;
  m: Messages;
  fmt: Formatter;
  theme: Theme;
}

export function makeUiContext(lang: Lang, locale: string = lang, noColor = false, ascii = false): UiContextValue {
  return { lang, m: MESSAGES[lang], fmt: new Formatter(lang, locale), theme: makeTheme(noColor, ascii) };
}

export const UiContext = createContext<UiContextValue>(makeUiContext('en'));

export const useUi = (): UiContextValue => useContext(UiContext);
