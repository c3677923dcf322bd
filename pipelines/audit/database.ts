// `emoforge audit OUT --sql …`: DuckDB over one out folder. The tables are in-memory copies made
// before the user's SQL runs; then file system access is switched off and the configuration locked,
// so no statement (COPY … TO, ATTACH, EXPORT DATABASE, INSTALL, read_csv of another file, SET) can
// read or write a file. Statements other than queries are refused before that with a plain message.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { COLUMNS } from '../../schemas/sample.ts';
import type { OutManifest } from '../../schemas/manifest.ts';
import type { ColumnSpec } from '../parquet/index.ts';
import type { WorkKind } from '../stage.ts';
import type { StatsTable } from '../stats.ts';
import type { TeacherUsageTable } from '../teachers/usage.ts';
import { MANIFEST_FILE, ManifestError, readManifest } from '../publish/manifest.ts';

/** A problem the user can fix: a missing folder, bad SQL, a refused statement. */
export class AuditError extends Error {}

export interface AuditTable {
  readonly name: string;
  readonly description: string;
}

export const AUDIT_TABLES: readonly AuditTable[] = [
  { name: 'samples', description: 'every training row of every shard (the shard columns)' },
  { name: 'rejects', description: 'rejects.parquet: every record that left early (stage, reason, detail; dropped segments with their labels and text)' },
  {
    name: 'stats',
    description: 'one row per stage from stats.json: records_in, records_out, dropped, flagged (kept but flagged), cached, wall_ms, work_* counts',
  },
  { name: 'drops', description: 'stats.json drop counters: stage, reason, count' },
  { name: 'teachers', description: 'stats.json teacher usage: role, teacher, calls, cache_hits, retries, tokens, usd' },
  { name: 'shards', description: 'manifest.json shards: file, split, rows, bytes, sha256' },
];

const READ_ONLY = new Map<StatementType, string>([
  [StatementType.SELECT, 'SELECT'],
  [StatementType.EXPLAIN, 'EXPLAIN'],
  [StatementType.PRAGMA, 'PRAGMA'],
  [StatementType.CALL, 'CALL'],
]);

const WORK_KINDS: readonly WorkKind[] = ['ffprobe', 'ffmpeg', 'asr', 'dsp', 'teacher'];
const TEACHER_COUNTERS = ['calls', 'cacheHits', 'retries', 'invalidRetries', 'answers', 'failures', 'inputTokens', 'outputTokens', 'usd'];

export interface AuditResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** plain JSON values: integers as numbers when exact, else strings; lists, structs as arrays, objects */
  readonly rows: readonly (readonly unknown[])[];
}

interface OutFolder {
  readonly dir: string;
  readonly manifest: OutManifest;
  readonly stats: { stages?: StatsTable; teachers?: TeacherUsageTable };
  readonly stageOrder: readonly string[];
}

/** Runs `sql` (one or more statements; the last one's result is returned) over the out folder. */
export async function auditQuery(outDir: string, sql: string): Promise<AuditResult> {
  if (!sql.trim()) throw new AuditError('--sql is empty: give a query, e.g. --sql "SELECT stage, reason, count FROM drops"');
  const folder = await openOutFolder(outDir);
  const mentioned = AUDIT_TABLES.filter((t) => new RegExp(`\\b${t.name}\\b`, 'i').test(sql)).map((t) => t.name);
  const database = await AuditDatabase.open(folder, mentioned.length ? mentioned : AUDIT_TABLES.map((t) => t.name));
  try {
    return await database.query(sql);
  } finally {
    await database.close();
  }
}

/** Every table with its row count and columns, for `emoforge audit OUT` without --sql. */
export async function auditTables(outDir: string): Promise<{ table: AuditTable; rows: number; columns: { name: string; type: string }[] }[]> {
  const folder = await openOutFolder(outDir);
  const database = await AuditDatabase.open(
    folder,
    AUDIT_TABLES.map((t) => t.name),
  );
  try {
    const tables = [];
    for (const table of AUDIT_TABLES) {
      const described = await database.query(`DESCRIBE ${table.name}`);
      const counted = await database.query(`SELECT count(*) FROM ${table.name}`);
      tables.push({ table, rows: Number(counted.rows[0][0]), columns: described.rows.map((r) => ({ name: String(r[0]), type: String(r[1]) })) });
    }
    return tables;
  } finally {
    await database.close();
  }
}

/** The sealed database of an out folder with every table (or the ones named); close it when done. */
export async function openAuditDatabase(outDir: string, tables: readonly string[] = AUDIT_TABLES.map((t) => t.name)): Promise<AuditDatabase> {
  return AuditDatabase.open(await openOutFolder(outDir), tables);
}

async function openOutFolder(outDir: string): Promise<OutFolder> {
  const info = await stat(outDir).catch(() => undefined);
  if (!info) throw new AuditError(`${outDir} does not exist: give the out folder of a run (the one holding manifest.json)`);
  if (!info.isDirectory()) throw new AuditError(`${outDir} is not a folder: give the out folder of a run (the one holding manifest.json)`);
  const manifest = await readManifest(outDir).catch((error: unknown) => {
    throw error instanceof ManifestError ? new AuditError(error.message, { cause: error }) : error;
  });
  if (!manifest)
    throw new AuditError(
      `${join(outDir, MANIFEST_FILE)} is missing: audit needs a finished run (an out folder without manifest.json is unfinished or not an out folder)`,
    );
  const stats = await readJson<OutFolder['stats']>(join(outDir, 'stats.json'), 'the run wrote no stats.json');
  return { dir: outDir, manifest, stats, stageOrder: manifest.stages.map((s) => s.name) };
}

async function readJson<T>(path: string, hint: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new AuditError(`${path} is missing: ${hint}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new AuditError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** An in-memory DuckDB holding copies of the out folder's tables, sealed off from the file system. */
export class AuditDatabase {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly spill: string,
  ) {}

  static async open(folder: OutFolder, tables: readonly string[]): Promise<AuditDatabase> {
    // Spill files go to a private temporary folder, never the current directory (it may be the out folder).
    const spill = await mkdtemp(join(tmpdir(), 'emoforge-audit-'));
    const instance = await DuckDBInstance.create(':memory:', { temp_directory: spill });
    const connection = await instance.connect();
    const database = new AuditDatabase(instance, connection, spill);
    try {
      for (const table of tables) await database.load(folder, table);
      await connection.run('SET enable_external_access = false');
      await connection.run('SET lock_configuration = true');
    } catch (error) {
      await database.close();
      throw error instanceof AuditError ? error : new AuditError(`could not read ${folder.dir}: ${(error as Error).message}`);
    }
    return database;
  }

  /** Checks every statement is a query, runs them in order and returns the last result. */
  async query(sql: string): Promise<AuditResult> {
    let extracted;
    try {
      extracted = await this.connection.extractStatements(sql);
    } catch (error) {
      throw sqlError(error);
    }
    let last: AuditResult | undefined;
    for (let i = 0; i < extracted.count; i++) {
      let prepared;
      try {
        // Binding is where DuckDB refuses what needs a file (COPY … TO, ATTACH, read_csv), before any type check.
        prepared = await extracted.prepare(i);
      } catch (error) {
        throw sqlError(error);
      }
      if (!READ_ONLY.has(prepared.statementType)) {
        const kind = StatementType[prepared.statementType] ?? String(prepared.statementType);
        throw new AuditError(
          `audit is read-only: ${kind.replace('_', ' ')} statements are refused (allowed: ${[...READ_ONLY.values()].join(', ')}); the out folder is never written`,
        );
      }
      try {
        const reader = await prepared.runAndReadAll();
        last = {
          columns: reader.columnNames().map((name, c) => ({ name, type: reader.columnType(c).toString() })),
          rows: reader.getRowsJS().map((row) => row.map(plain)),
        };
      } catch (error) {
        throw sqlError(error);
      }
    }
    return last ?? { columns: [], rows: [] };
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.spill, { recursive: true, force: true });
  }

  private async load(folder: OutFolder, table: string): Promise<void> {
    const c = this.connection;
    switch (table) {
      case 'samples': {
        const files = folder.manifest.shards.map((s) => join(folder.dir, s.file));
        await requireFiles(files);
        if (files.length === 0) {
          await c.run(`CREATE TABLE samples (${columnsDdl(COLUMNS)})`);
          return;
        }
        const source = `read_parquet([${files.map(sqlString).join(', ')}])`;
        // Shards written with embedMedia hold {bytes, path} structs: the table keeps the paths (the files are under OUT/media).
        const types = new Map((await c.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRows().map(([name, type]) => [String(name), String(type)]));
        const embedded = COLUMNS.filter((col) => col.feature && types.get(col.name)?.includes('STRUCT'));
        const replace = embedded.map((col) =>
          col.kind === 'list<string>'
            ? `list_transform(${ident(col.name)}, m -> m.path) AS ${ident(col.name)}`
            : `${ident(col.name)}.path AS ${ident(col.name)}`,
        );
        await c.run(`CREATE TABLE samples AS SELECT *${replace.length ? ` REPLACE (${replace.join(', ')})` : ''} FROM ${source}`);
        return;
      }
      case 'rejects': {
        const file = join(folder.dir, folder.manifest.rejects.file);
        await requireFiles([file]);
        await c.run(`CREATE TABLE rejects AS SELECT * FROM read_parquet(${sqlString(file)})`);
        return;
      }
      case 'stats': {
        const stages = folder.stats.stages ?? {};
        const kinds = [...new Set([...WORK_KINDS, ...Object.values(stages).flatMap((s) => Object.keys(s.work ?? {}) as WorkKind[])])];
        await c.run(
          `CREATE TABLE stats (stage VARCHAR, position INTEGER, records_in BIGINT, records_out BIGINT, dropped BIGINT, flagged BIGINT, cached BIGINT, wall_ms DOUBLE${kinds.map((k) => `, ${ident(`work_${k}`)} BIGINT`).join('')})`,
        );
        const names = [...folder.stageOrder.filter((n) => stages[n]), ...Object.keys(stages).filter((n) => !folder.stageOrder.includes(n))];
        for (const [i, name] of names.entries()) {
          const s = stages[name];
          const dropped = Object.values(s.dropped ?? {}).reduce((a, b) => a + b, 0);
          const flagged = Object.values((s as { flagged?: Record<string, number> }).flagged ?? {}).reduce((a, b) => a + b, 0);
          await c.run(
            `INSERT INTO stats VALUES (${Array(8 + kinds.length)
              .fill('?')
              .join(', ')})`,
            [name, i + 1, s.in, s.out, dropped, flagged, s.cached, s.wallMs, ...kinds.map((k) => s.work?.[k] ?? 0)],
          );
        }
        return;
      }
      case 'drops': {
        await c.run('CREATE TABLE drops (stage VARCHAR, reason VARCHAR, count BIGINT)');
        for (const [stage, s] of Object.entries(folder.stats.stages ?? {})) {
          for (const [reason, n] of Object.entries(s.dropped ?? {})) await c.run('INSERT INTO drops VALUES (?, ?, ?)', [stage, reason, n]);
        }
        return;
      }
      case 'teachers': {
        const usage = folder.stats.teachers ?? {};
        const counters = [
          ...new Set([...TEACHER_COUNTERS, ...Object.values(usage).flatMap((byTeacher) => Object.values(byTeacher).flatMap((u) => Object.keys(u)))]),
        ];
        await c.run(
          `CREATE TABLE teachers (role VARCHAR, teacher VARCHAR${counters.map((k) => `, ${ident(snake(k))} ${k === 'usd' ? 'DOUBLE' : 'BIGINT'}`).join('')})`,
        );
        for (const [role, byTeacher] of Object.entries(usage)) {
          for (const [teacher, u] of Object.entries(byTeacher)) {
            await c.run(`INSERT INTO teachers VALUES (?, ?${counters.map(() => ', ?').join('')})`, [
              role,
              teacher,
              ...counters.map((k) => Number((u as unknown as Record<string, number>)[k] ?? 0)),
            ]);
          }
        }
        return;
      }
      case 'shards': {
        await c.run('CREATE TABLE shards (file VARCHAR, split VARCHAR, rows BIGINT, bytes BIGINT, sha256 VARCHAR)');
        for (const s of folder.manifest.shards) await c.run('INSERT INTO shards VALUES (?, ?, ?, ?, ?)', [s.file, s.split, s.rows, s.bytes, s.sha256]);
        return;
      }
      default:
        throw new AuditError(`unknown table ${table}`);
    }
  }
}

async function requireFiles(files: readonly string[]): Promise<void> {
  for (const file of files) {
    if (!(await stat(file).catch(() => undefined)))
      throw new AuditError(`${file} is listed in manifest.json but missing: the out folder is damaged; run the pipeline again`);
  }
}

const DUCKDB_TYPES: Record<ColumnSpec['kind'], string> = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  'list<string>': 'VARCHAR[]',
  'list<turn>': 'STRUCT("from" VARCHAR, "value" VARCHAR)[]',
  media: 'STRUCT("bytes" BLOB, "path" VARCHAR)',
  'list<media>': 'STRUCT("bytes" BLOB, "path" VARCHAR)[]',
};

function columnsDdl(columns: readonly ColumnSpec[]): string {
  return columns.map((c) => `${ident(c.name)} ${DUCKDB_TYPES[c.kind]}`).join(', ');
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function sqlError(error: unknown): AuditError {
  const message = String((error as Error).message ?? error)
    .replace(/^Failed to extract statements: /, '')
    .trim();
  if (/disabled by configuration|configuration has been locked|disabled through configuration/.test(message)) {
    return new AuditError(`audit is read-only and sealed from the file system; DuckDB refused: ${message}`);
  }
  return new AuditError(`SQL error: ${message}`);
}

/** DuckDB's JS values as plain JSON: exact integers as numbers, others as strings. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}
