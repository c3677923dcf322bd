// Names from the outside world (clip file names, manifest values, teacher text) shown to a person:
// control characters become visible escapes (`\x1b`, `\r`, `\x9b`), so a file named with terminal
// escape sequences cannot clear a screen, retitle a window or hide lines in `trace`, `inspect`,
// `audit`, progress lines or report.html. Stored values (the `uri` column) keep the real name.

// C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder what a line shows.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value (a name, a uri) with every control character escaped, newlines and tabs included. */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeOne);
}

/** A block of output whose own newlines and tabs stay: every other control character is escaped. */
export function printableLines(text: string): string {
  return text.replace(CONTROL_BUT_LINES, escapeOne);
}

/** JSON text (which already escapes C0) with DEL, C1 and bidi overrides escaped too: still valid JSON. */
export function printableJson(text: string): string {
  return text.replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
