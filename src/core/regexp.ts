/** `text` as a regular expression that matches exactly it (every character RegExp would read as syntax escaped). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
