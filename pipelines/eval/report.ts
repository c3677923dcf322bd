// The "Evaluations" section of report.html: every OUT/eval/<model>/<split>/summary.json as a table of
// metrics with their 95% intervals and n, per task and per label. `emoforge eval` writes it into the
// page between two markers (replacing the previous section), so the page stays one self-contained
// file; escaped like the rest of the report. A later `emoforge run` rewrites report.html without it;
// the next `emoforge eval` (free from the answer cache) puts it back.
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeHtml as e } from '../audit/html.ts';
import type { EvalSummary } from './evaluate.ts';

const BEGIN = '<!-- emoforge eval: begin -->';
const END = '<!-- emoforge eval: end -->';

const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(3));

async function summaries(outDir: string): Promise<EvalSummary[]> {
  const found: EvalSummary[] = [];
  const root = join(outDir, 'eval');
  const models = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const model of models
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    const splits = await readdir(join(root, model), { withFileTypes: true }).catch(() => []);
    for (const split of splits
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort()) {
      const text = await readFile(join(root, model, split, 'summary.json'), 'utf8').catch(() => undefined);
      if (text) found.push(JSON.parse(text) as EvalSummary);
    }
  }
  return found;
}

export function evalSection(list: readonly EvalSummary[]): string {
  const parts = [
    `<section id="eval"><h2>Evaluations</h2><p class="muted">emoforge eval: each model's answers on a held-out split, scored per task; intervals are 95% percentile bootstraps. Open-vocabulary labels are grouped by ${e(list[0]?.wheel ?? 'the emotion wheel')}.</p>`,
  ];
  for (const s of list) {
    parts.push(
      `<h3>${e(s.model)} <span class="muted">(${e(s.endpointModel)}) on ${e(s.corpus)} v${e(s.corpusVersion)}, split ${e(s.split)}, ${e(s.rows)} rows${s.judge ? `; judge ${e(`${s.judge.teacher}/${s.judge.model} ${s.judge.template}`)}` : ''}</span></h3>`,
    );
    parts.push('<table><tr><th>task</th><th>label</th><th>metric</th><th class="n">value</th><th class="n">95% interval</th><th class="n">n</th></tr>');
    for (const [task, t] of Object.entries(s.tasks)) {
      const scopes: [string, { metrics: typeof t.metrics }][] = [['all', t], ...Object.entries(t.labels)];
      for (const [label, scope] of scopes) {
        for (const [metric, m] of Object.entries(scope.metrics)) {
          parts.push(
            `<tr><td>${e(task)}</td><td>${e(label)}</td><td>${e(metric)}</td><td class="n">${fmt(m.value)}</td><td class="n">[${fmt(m.low)}, ${fmt(m.high)}]</td><td class="n">${m.n}</td></tr>`,
          );
        }
      }
    }
    parts.push('</table>');
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** Puts the section into OUT/report.html (before </main>); returns the page's path, or undefined when the out folder has no report. */
export async function writeEvalReport(outDir: string): Promise<string | undefined> {
  const path = join(outDir, 'report.html');
  const page = await readFile(path, 'utf8').catch(() => undefined);
  if (page === undefined) return undefined;
  const list = await summaries(outDir);
  const section = `${BEGIN}\n${evalSection(list)}\n${END}`;
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  let next: string;
  if (start >= 0 && end > start) next = page.slice(0, start) + section + page.slice(end + END.length);
  else if (page.includes('</main>')) next = page.replace('</main>', `${section}\n</main>`);
  else return undefined;
  const temp = `${path}.partial`;
  await writeFile(temp, next);
  await rename(temp, path);
  return path;
}
