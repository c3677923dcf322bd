// Text from clips (transcripts, names, manifest fields) and from teachers is hostile input: every
// string that reaches report.html or the dataset card goes through one of these.
import { printableLines } from '../printable.ts';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in element text and in quoted attribute values. */
export function escapeHtml(text: unknown): string {
  // Control characters become visible escapes (\x1b), never raw bytes in the page.
  return printableLines(String(text ?? '')).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * One line of Markdown text (a table cell, a list item): HTML-escaped (the Hub renders raw HTML in
 * cards), pipes and Markdown punctuation neutralised, newlines folded.
 */
export function escapeMarkdown(text: unknown): string {
  return escapeHtml(text)
    .replace(/[\r\n]+/g, ' ')
    .replace(/([\\`*_[\]|#!~])/g, '\\$1');
}

/** Fixed-point number without locale, so output bytes never depend on the machine. */
export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** Thousands separated by commas, locale-free. */
export function count(value: number): string {
  const text = String(Math.round(value));
  return text.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–';
}

/** A byte count for people: B, KiB, MiB or GiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
