// `emoforge audit OUT [--sql SQL] [--json] [--max-rows N]`: SQL over a run, printed as a table or JSON;
// without --sql, the tables there are to ask.
import { auditQuery, auditTables, type AuditResult } from '../../pipelines/audit/index.ts';
import { printable, printableJson } from '../../pipelines/printable.ts';

export interface AuditOptions {
  readonly outDir: string;
  readonly sql?: string;
  readonly json?: boolean;
  /** table output shows at most this many rows (JSON shows all) */
  readonly maxRows: number;
}

const CELL_WIDTH = 60;

export async function audit(options: AuditOptions): Promise<string> {
  if (options.sql === undefined) return describeTables(options.outDir);
  const result = await auditQuery(options.outDir, options.sql);
  if (options.json)
    return `${printableJson(
      JSON.stringify(
        result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c.name, row[i]]))),
        null,
        2,
      ),
    )}\n`;
  return formatTable(result, options.maxRows);
}

async function describeTables(outDir: string): Promise<string> {
  const lines = [`tables of ${outDir} (ask with --sql "SELECT …"):`];
  for (const { table, rows, columns } of await auditTables(outDir)) {
    lines.push('', `${table.name} (${rows} rows): ${table.description}`);
    lines.push(`  ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Columns padded to their widest cell (cells cut at 60 characters), numbers right-aligned. */
export function formatTable(result: AuditResult, maxRows: number): string {
  if (result.columns.length === 0) return '(no result)\n';
  const shown = result.rows.slice(0, maxRows);
  const text = shown.map((row) => row.map(cellText));
  const numeric = result.columns.map((_, c) => shown.length > 0 && shown.every((row) => row[c] === null || typeof row[c] === 'number'));
  const widths = result.columns.map((column, c) => Math.max(column.name.length, ...text.map((row) => row[c].length)));
  const pad = (value: string, c: number) => (numeric[c] ? value.padStart(widths[c]) : value.padEnd(widths[c]));
  const lines = [
    result.columns
      .map((column, c) => pad(column.name, c))
      .join('  ')
      .trimEnd(),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...text.map((row) => row.map(pad).join('  ').trimEnd()),
  ];
  const more = result.rows.length - shown.length;
  lines.push(
    more > 0
      ? `(${result.rows.length} rows, first ${shown.length} shown; --max-rows N or --json for more)`
      : `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`,
  );
  return `${lines.join('\n')}\n`;
}

function cellText(value: unknown): string {
  const text = value === null || value === undefined ? 'NULL' : typeof value === 'string' ? value : JSON.stringify(value);
  const flat = printable(text.replace(/\s+/g, ' '));
  return flat.length > CELL_WIDTH ? `${flat.slice(0, CELL_WIDTH - 1)}…` : flat;
}
