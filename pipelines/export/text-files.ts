// Small writers shared by the exporters: CSV fields as pandas and Python's csv module read them, and
// Python-literal lists.

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, line break or edge whitespace; quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvTable(header: readonly string[], records: readonly (readonly string[])[]): string {
  return `${[header, ...records].map((cells) => cells.map(csvField).join(',')).join('\n')}\n`;
}

/**
 * An open-set word as AffectGPT's `string_to_list` can read it back: that parser strips the brackets
 * and splits on every quote and comma (it does not unescape), so a word keeps none of `'`, `"`, `,`,
 * brackets, backslashes or control characters (each becomes a space), and its spaces are collapsed.
 */
export function opensetWord(word: string): string {
  return word
    .replace(/[\\'",[\]\x00-\x1f\x7f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A list of open-set words as a Python literal with single quotes, `['excited', 'joyful', 'happy']`,
 * `[]` for none: the same list whether read with `ast.literal_eval` or with AffectGPT's
 * `string_to_list` (words cleaned by `opensetWord`, empty and repeated words dropped).
 */
export function pythonList(words: readonly string[]): string {
  const kept = [...new Set(words.map(opensetWord).filter((w) => w !== ''))];
  return `[${kept.map((w) => `'${w}'`).join(', ')}]`;
}
