// The audit surface of a real run: `emoforge audit --sql` over the out folder (read-only, sealed from
// the file system), report.html opened in headless Chromium, the dataset card, and what the report
// says changed when a second run of the same corpus drops more.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditQuery, openAuditDatabase } from '../../pipelines/audit/index.ts';
import { cli, demoConfig, readJson, sampleClips, tempDir, writeConfig } from '../helpers.ts';
import { warmStore, warmStoreReady } from '../support/warm-store.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
// In CI, scripts/setup.sh installs chromium, so a missing browser must fail the test there, not skip it.
const skipBrowser = !existsSync(CHROMIUM) && !process.env.CI;
const HOSTILE_TEXT = 'i am so happy today <script>alert("pwned")</script> really glad <img src=x onerror=alert(1)>';
const HOSTILE_SPEAKER = '<b onmouseover=alert(2)>spk02</b>';

async function folderHashes(dir: string): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  const walk = async (current: string) => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else
        hashes[relative(dir, path)] = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
    }
  };
  await walk(dir);
  return hashes;
}

/** The rows `emoforge audit OUT --sql SQL --json` prints, computed in this process (the CLI is tested below). */
async function auditJson(out: string, sql: string): Promise<Record<string, unknown>[]> {
  const result = await auditQuery(out, sql);
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c.name, row[i]])));
}

beforeAll(() => warmStoreReady(), 600_000);

describe('the audit surface of a run', () => {
  let out: string;
  let first: { rows: number; segments: string[] };
  let droppedBySecondRun: string[];
  let rerun: () => ReturnType<typeof cli>;

  beforeAll(async () => {
    const input = await sampleClips(6);
    // A licence column, a transcript and a speaker written to break out of HTML, and a file ingest rejects.
    const manifest = (await readFile(join(input, 'manifest.csv'), 'utf8')).trim().split('\n');
    const csv = (value: string) => `"${value.replaceAll('"', '""')}"`;
    const rows = manifest.slice(1).map((line) => {
      const [name, label, speaker] = line.split(',');
      const text = line.slice(line.indexOf('"'));
      return name === 'sample_0002'
        ? [name, label, csv(HOSTILE_SPEAKER), csv(HOSTILE_TEXT), 'CC BY 4.0'].join(',')
        : [name, label, speaker, text, 'CC BY 4.0'].join(',');
    });
    await writeFile(join(input, 'manifest.csv'), `${[`${manifest[0]},licence`, ...rows].join('\n')}\n`);
    await writeFile(join(input, 'empty.mp4'), '');
    const work = await tempDir();
    out = join(work, 'out');
    // The suite's warm store: the clips' media and face tracks come from the demo run (this manifest differs).
    const store = await warmStore(join(work, 'store'));
    const overrides = { transcribe: { engine: 'manifest' }, 'cues.visual': { detector: 'tiny' } };
    const run1 = await cli(['run', await writeConfig(await tempDir(), demoConfig(overrides)), '--input', input, '--out', out, '--store', store]);
    expect(run1.stderr).toBe('');
    expect(run1.code).toBe(0);

    // The second run of the same corpus drops the longest segment(s) at the filter.
    const segments = await auditJson(out, 'SELECT DISTINCT segment_id, name, "end" - start AS duration FROM samples ORDER BY duration DESC, segment_id');
    first = { rows: (await readJson(join(out, 'stats.json'))).totals.rows, segments: segments.map((s) => String(s.segment_id)) };
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const [longest, next] = segments.map((s) => Number(s.duration));
    expect(longest).toBeGreaterThan(next);
    const maxDurationSec = (longest + next) / 2;
    droppedBySecondRun = segments.filter((s) => Number(s.duration) > maxDurationSec).map((s) => String(s.segment_id));
    const config2 = await writeConfig(await tempDir(), demoConfig({ ...overrides, filter: { maxDurationSec } }));
    rerun = () => cli(['run', config2, '--input', input, '--out', out, '--store', store]);
    const run2 = await rerun();
    expect(run2.stderr).toBe('');
    expect(run2.code).toBe(0);
  }, 600_000);

  it('answers SQL over the shards, rejects, stats, drops, teachers and shards tables', async () => {
    const manifest = await readJson(join(out, 'manifest.json'));
    const stats = await readJson(join(out, 'stats.json'));
    const perSplit = await auditJson(out, 'SELECT split, count(*) AS n FROM samples GROUP BY split ORDER BY split');
    expect(Object.fromEntries(perSplit.map((r) => [r.split, r.n]))).toEqual(
      Object.fromEntries(Object.entries(manifest.splits).filter(([, n]) => Number(n) > 0)),
    );
    expect(perSplit.reduce((n, r) => n + Number(r.n), 0)).toBe(stats.totals.rows);
    const [shardRows] = await auditJson(out, 'SELECT sum(rows) AS n, count(*) AS files FROM shards');
    expect(shardRows).toEqual({ n: stats.totals.rows, files: manifest.shards.length });

    const stages = await auditJson(out, 'SELECT stage, position, records_in, records_out, dropped, cached, work_ffmpeg FROM stats ORDER BY position');
    expect(stages.map((s) => s.stage)).toEqual(manifest.stages.map((s: { name: string }) => s.name));
    for (const s of stages) {
      const expected = stats.stages[String(s.stage)];
      expect(s).toMatchObject({ records_in: expected.in, records_out: expected.out, cached: expected.cached, work_ffmpeg: expected.work.ffmpeg ?? 0 });
      expect(s.dropped).toBe(Object.values(expected.dropped as Record<string, number>).reduce((a, b) => a + b, 0));
    }
    // Every counted drop is a row of rejects.parquet, and the other way round.
    const counted = await auditJson(out, 'SELECT stage, reason, count FROM drops WHERE count > 0 ORDER BY stage, reason');
    const rejected = await auditJson(out, 'SELECT stage, reason, count(*) AS count FROM rejects GROUP BY ALL ORDER BY stage, reason');
    expect(rejected).toEqual(counted);
    expect(counted).toContainEqual({ stage: 'ingest', reason: 'empty-file', count: 1 });
    expect(counted).toContainEqual({ stage: 'filter', reason: 'too-long', count: droppedBySecondRun.length });
    // Dropped segments keep their labels and text; sources turned away by ingest have none.
    const tooLong = await auditJson(out, `SELECT id, primary_emotion, transcript, frame FROM rejects WHERE reason = 'too-long' ORDER BY id`);
    expect(tooLong.map((r) => r.id)).toEqual([...droppedBySecondRun].sort());
    for (const r of tooLong) {
      expect(r.primary_emotion).toMatch(/^[a-z]+$/);
      expect(String(r.transcript).length).toBeGreaterThan(0);
      expect(r.frame).toMatch(/\.jpg$/);
    }
    expect(await auditJson(out, `SELECT primary_emotion FROM rejects WHERE stage = 'ingest'`)).toEqual([{ primary_emotion: null }]);
    expect(await auditJson(out, 'SELECT count(*) AS n FROM teachers')).toEqual([{ n: 0 }]); // the rules teacher calls no endpoint
  });

  it('prints a readable table, lists the tables without --sql, and says what is wrong with bad input', async () => {
    const table = await cli(['audit', out, '--sql', 'SELECT stage, records_in, records_out FROM stats ORDER BY position LIMIT 2']);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^stage\s+records_in\s+records_out$/);
    expect(lines[1]).toMatch(/^-+ {2}-+ {2}-+$/);
    expect(lines[2]).toMatch(/^ingest\s+7\s+6$/);
    expect(table.stdout).toContain('(2 rows)');
    const json = await cli(['audit', out, '--sql', 'SELECT stage, reason, count FROM drops ORDER BY stage, reason', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await auditJson(out, 'SELECT stage, reason, count FROM drops ORDER BY stage, reason'));
    const tables = await cli(['audit', out]);
    expect(tables.code).toBe(0);
    for (const name of ['samples', 'rejects', 'stats', 'drops', 'teachers', 'shards'])
      expect(tables.stdout).toMatch(new RegExp(`^${name} \\(\\d+ rows\\)`, 'm'));

    const missing = await cli(['audit', join(out, 'no-such-folder'), '--sql', 'SELECT 1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such-folder does not exist/);
    const syntax = await cli(['audit', out, '--sql', 'SELEC count(*) FROM samples']);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/SQL error: Parser Error: syntax error at or near "SELEC"/);
    await expect(auditQuery(await tempDir(), 'SELECT 1')).rejects.toThrow(/manifest\.json is missing: audit needs a finished run/);
    await expect(auditQuery(out, 'SELECT * FROM sample')).rejects.toThrow(/SQL error: Catalog Error: Table with name sample does not exist/);
    await expect(auditQuery(out, '  ')).rejects.toThrow(/--sql is empty/);
  });

  it('refuses statements that write or reach files, and leaves the out folder byte-identical', async () => {
    const before = await folderHashes(out);
    // Statements that need a file are refused by DuckDB's sandbox when they are bound; the others
    // by the statement check before they run.
    const sealed =
      /read-only and sealed from the file system; DuckDB refused: Permission Error: Cannot access file .* file system operations are disabled by configuration/;
    const attempts: [string, RegExp][] = [
      [`COPY samples TO '${join(out, 'leak.parquet')}' (FORMAT parquet)`, sealed],
      [`EXPORT DATABASE '${join(out, 'dump')}'`, sealed],
      [`SELECT * FROM read_csv('${join(out, 'stats.json')}')`, sealed],
      [`ATTACH '${join(out, 'audit.duckdb')}' AS sink`, /read-only: ATTACH statements are refused/],
      [`INSERT INTO drops VALUES ('filter', 'made-up', 1)`, /read-only: INSERT statements are refused/],
      [`SELECT 1; DELETE FROM samples`, /read-only: DELETE statements are refused/],
      ['SET enable_external_access = true', /read-only: SET statements are refused/],
    ];
    for (const [sql, message] of attempts) await expect(auditQuery(out, sql), sql).rejects.toThrow(message);
    const refused = await cli(['audit', out, '--sql', `COPY (SELECT * FROM rejects) TO '${join(out, 'rejects.csv')}'`]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^emoforge audit: audit is read-only and sealed from the file system/);
    // Below the statement check, DuckDB itself refuses writes and configuration changes.
    const database = await openAuditDatabase(out);
    try {
      await expect(database.connection.run(`COPY samples TO '${join(out, 'leak.csv')}'`)).rejects.toThrow(
        /file system operations are disabled by configuration/,
      );
      await expect(database.connection.run('SET lock_configuration = false')).rejects.toThrow(/the configuration has been locked/);
      await expect(database.connection.run(`ATTACH '${join(out, 'x.duckdb')}'`)).rejects.toThrow(/disabled by configuration/);
    } finally {
      await database.close();
    }
    expect(await folderHashes(out)).toEqual(before);
  });

  it('says in the report what the second run changed: the segments the filter now drops', async () => {
    const html = await readFile(join(out, 'report.html'), 'utf8');
    const changes = html.slice(html.indexOf('<section id="changes">'), html.indexOf('</section>', html.indexOf('<section id="changes">')));
    const stats = await readJson(join(out, 'stats.json'));
    expect(changes).toContain('(config changed)');
    expect(changes).toMatch(
      new RegExp(
        `<td>rows</td><td class="n">${first.rows}</td><td class="n">${stats.totals.rows}</td><td class="n">0</td><td class="n">${first.rows - stats.totals.rows}</td>`,
      ),
    );
    expect(changes).toContain('<h3>Segments removed</h3>');
    for (const id of droppedBySecondRun) expect(changes).toContain(id.slice(0, 12));
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
  });

  it('writes the dataset card with Hugging Face front matter from the manifest licence and row counts', async () => {
    const manifest = await readJson(join(out, 'manifest.json'));
    expect(manifest.card).toBe('README.md');
    expect(manifest.report).toBe('report.html');
    // manifest.json is still written last
    expect((await stat(join(out, 'manifest.json'))).mtimeMs).toBeGreaterThanOrEqual((await stat(join(out, 'report.html'))).mtimeMs);
    const card = await readFile(join(out, 'README.md'), 'utf8');
    const meta = parseYaml(/^---\n([\s\S]*?)\n---\n/.exec(card)![1]);
    expect(meta.license).toBe('cc-by-4.0');
    expect(meta.pretty_name).toBe('test-corpus');
    const splits = Object.entries(manifest.splits).filter(([, n]) => Number(n) > 0);
    expect(meta.dataset_info.splits.map((s: { name: string; num_examples: number }) => [s.name, s.num_examples])).toEqual(splits);
    expect(meta.configs[0].data_files.map((f: { split: string }) => f.split)).toEqual(splits.map(([s]) => s));
    expect(card).toContain(manifest.configFingerprint);
    expect(card).not.toContain('<script>');
    // The same run again (everything from the cache) writes the same card and the same shards.
    const shards = await folderHashes(join(out, 'shards'));
    const again = await rerun();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('shards: unchanged');
    expect(await readFile(join(out, 'README.md'), 'utf8')).toBe(card);
    expect(await folderHashes(join(out, 'shards'))).toEqual(shards);
  });

  it.skipIf(skipBrowser)(
    skipBrowser
      ? `report in headless Chromium — SKIPPED: ${CHROMIUM} is not installed (bash scripts/setup.sh installs it)`
      : 'report in headless Chromium: no console errors, no requests, every chart drawn, gallery present, screenshot saved',
    async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
        page.on('dialog', (dialog) => {
          problems.push(`dialog: ${dialog.message()}`);
          void dialog.dismiss();
        });
        page.on('request', (request) => requests.push(request.url()));
        const url = `file://${join(out, 'report.html')}`;
        await page.goto(url, { waitUntil: 'load' });
        const facts = await page.evaluate(() => {
          const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
            const box = (svg as SVGSVGElement).getBoundingClientRect();
            const marks = [...svg.querySelectorAll('rect')].filter(
              (r) => (r as SVGRectElement).getBBox().width > 0 && (r as SVGRectElement).getBBox().height > 0,
            ).length;
            return { section: svg.closest('section')?.id ?? '', width: box.width, height: box.height, marks };
          });
          const images = [...document.querySelectorAll('article.sample img')].map((img) => ({
            loaded: (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0,
            src: (img as HTMLImageElement).src.slice(0, 23),
          }));
          const labelRows = [...document.querySelectorAll('#labels tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''));
          return {
            charts,
            images,
            kept: document.querySelectorAll('#gallery article.sample').length,
            rejected: [...document.querySelectorAll('#rejected h3 .reason')].map((r) => r.textContent),
            scripts: document.querySelectorAll('script').length,
            labelsBefore: labelRows.reduce((n, r) => n + Number(r[1].replace(/,/g, '')), 0),
            labelsKept: labelRows.reduce((n, r) => n + Number(r[3].replace(/,/g, '')), 0),
            text: document.body.textContent,
          };
        });
        expect(problems).toEqual([]);
        expect(requests).toEqual([url]);
        expect(facts.scripts).toBe(0);
        expect(new Set(facts.charts.map((c) => c.section))).toEqual(new Set(['funnel', 'drops', 'labels', 'histograms', 'agreement', 'teachers']));
        for (const chart of facts.charts) {
          expect(chart.width, chart.section).toBeGreaterThan(100);
          expect(chart.height, chart.section).toBeGreaterThan(30);
          expect(chart.marks, chart.section).toBeGreaterThan(0);
        }
        expect(facts.kept).toBeGreaterThanOrEqual(3);
        expect(facts.images.length).toBeGreaterThanOrEqual(facts.kept);
        for (const image of facts.images) expect(image).toEqual({ loaded: true, src: 'data:image/jpeg;base64,' });
        expect(facts.rejected).toEqual(expect.arrayContaining(['empty-file', 'too-long']));
        // The hostile transcript and speaker are on the page as text.
        expect(facts.text).toContain(HOSTILE_TEXT);
        expect(facts.text).toContain(HOSTILE_SPEAKER);
        // Labels before filtering = kept segments + dropped segments that had labels.
        const [{ kept, dropped }] = await auditJson(
          out,
          'SELECT (SELECT count(DISTINCT segment_id) FROM samples) AS kept, (SELECT count(*) FROM rejects WHERE primary_emotion IS NOT NULL) AS dropped',
        );
        expect(facts.labelsKept).toBe(kept);
        expect(facts.labelsBefore).toBe(Number(kept) + Number(dropped));
        expect(Number(dropped)).toBeGreaterThanOrEqual(droppedBySecondRun.length);

        const screenshot = join(out, 'report.png');
        await page.screenshot({ path: screenshot, fullPage: true });
        const png = await readFile(screenshot);
        expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        expect(png.length).toBeGreaterThan(50_000);
      } finally {
        await browser.close();
      }
    },
    120_000,
  );
});
