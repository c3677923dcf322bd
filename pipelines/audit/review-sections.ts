// Human review in report.html and in the dataset card (see review-digest.ts for the figures).
import type { AuditDigest } from './digest.ts';
import { count, escapeHtml as e, escapeMarkdown as m, fixed } from './html.ts';
import type { Proportion } from '../review/statistics.ts';
import type { ReviewDigest } from './review-digest.ts';

/** "62.5% [30.6%, 86.3%] (5/8)", or "–" when nothing was counted. */
export function rateText(p: Proportion): string {
  if (p.rate === null) return '–';
  const pc = (x: number | null) => `${fixed(100 * (x ?? 0), 1)}%`;
  return `${pc(p.rate)} [${pc(p.low)}, ${pc(p.high)}] (${count(p.successes)}/${count(p.total)})`;
}

function kappaText(k: ReviewDigest['pairs'][number]['kappa']): string {
  if (k.kappa === null) return k.items ? `n/a (no variation; ${fixed(100 * (k.observed ?? 0), 1)}% agree)` : '–';
  return fixed(k.kappa, 2);
}

function summary(r: ReviewDigest): string {
  return `${count(r.reviewed)} segments reviewed: ${count(r.accepted)} accepted as they were, ${count(r.edited)} edited, ${count(r.rejected)} rejected; ${count(r.stale)} went back to the review queue because their content changed since they were reviewed (their decisions are stale)${r.invalidEdits ? `; ${count(r.invalidEdits)} edits no longer pass the teachers' checks and were not applied` : ''}.`;
}

/** The report's "Human review" section. */
export function reviewSection(digest: AuditDigest): string {
  const r = digest.review;
  if (!r)
    return '<p class="muted">No review stage ran: add <code>- review</code> before <code>filter</code> and review the corpus with <code>emoforge review OUT</code>.</p>';
  const table = (head: readonly string[], rows: readonly (readonly string[])[]) =>
    `<table><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  const parts = [`<p>${e(summary(r))}</p>`];
  parts.push(
    `<p>Accepted as the teacher wrote it: <b>${e(rateText(r.overall))}</b> of reviewed segments (95% Wilson interval). From the random queue (an unbiased sample of the corpus): <b>${e(rateText(r.random))}</b>.</p>`,
  );
  if (r.subset.length)
    parts.push(
      `<p>The human-reviewed subset (rows accepted or edited by a reviewer) is its own config, <code>reviewed</code>: ${e(r.subset.map((s) => `${s.split} ${count(s.rows)} rows`).join(', '))}.</p>`,
    );
  if (r.tasks.length)
    parts.push(
      '<h3>Acceptance per task</h3>',
      table(
        ['task', 'accepted as written (95% CI)'],
        r.tasks.map((t) => [t.key, rateText(t)]),
      ),
    );
  if (r.teachers.length)
    parts.push(
      '<h3>Acceptance per teacher</h3>',
      table(
        ['teacher (model)', 'accepted as written (95% CI)'],
        r.teachers.map((t) => [t.key, rateText(t)]),
      ),
    );
  if (r.reasons.length)
    parts.push(
      '<h3>Reject reasons</h3>',
      table(
        ['reason', 'segments'],
        r.reasons.map((x) => [x.reason, count(x.count)]),
      ),
    );
  if (r.reviewers.length)
    parts.push(
      '<h3>Reviewers</h3>',
      table(
        ['reviewer', 'decisions on current content'],
        r.reviewers.map((x) => [x.name, count(x.decisions)]),
      ),
    );
  if (r.pairs.length) {
    parts.push(
      '<h3>Agreement between reviewers</h3>',
      table(
        ['reviewers', 'samples both decided', "Cohen's kappa (keep vs reject)", 'observed agreement', 'same primary emotion (both kept)'],
        r.pairs.map((p) => [
          `${p.a} · ${p.b}`,
          count(p.kappa.items),
          kappaText(p.kappa),
          p.kappa.observed === null ? '–' : `${fixed(100 * p.kappa.observed, 1)}%`,
          rateText(p.labels),
        ]),
      ),
    );
  } else
    parts.push(
      '<p class="muted">No two reviewers decided on the same content yet: assign a second reviewer (the <code>second</code> queue) to measure agreement.</p>',
    );
  return parts.join('\n');
}

/** The card's "Human review" lines (Markdown). */
export function reviewCardLines(digest: AuditDigest): string[] {
  const r = digest.review;
  if (!r) return [];
  const lines = [
    '## Human review',
    '',
    m(summary(r)),
    '',
    `- accepted as the teacher wrote it: ${m(rateText(r.overall))} of reviewed segments (95% Wilson interval)`,
    `- random queue (unbiased): ${m(rateText(r.random))}`,
  ];
  if (r.subset.length)
    lines.push(
      `- the \`reviewed\` config holds the rows a reviewer accepted or edited: ${r.subset.map((s) => `${m(s.split)} ${count(s.rows)}`).join(', ')} (\`load_dataset(PATH, "reviewed")\`)`,
    );
  lines.push('');
  if (r.tasks.length) {
    lines.push('| task | accepted as written (95% CI) |', '|---|---|', ...r.tasks.map((t) => `| ${m(t.key)} | ${m(rateText(t))} |`), '');
  }
  if (r.teachers.length)
    lines.push('| teacher (model) | accepted as written (95% CI) |', '|---|---|', ...r.teachers.map((t) => `| ${m(t.key)} | ${m(rateText(t))} |`), '');
  if (r.reasons.length) lines.push('| reject reason | segments |', '|---|---:|', ...r.reasons.map((x) => `| ${m(x.reason)} | ${count(x.count)} |`), '');
  if (r.pairs.length) {
    lines.push(
      "| reviewers | samples both decided | Cohen's kappa (keep vs reject) | same primary emotion |",
      '|---|---:|---|---|',
      ...r.pairs.map((p) => `| ${m(p.a)} · ${m(p.b)} | ${count(p.kappa.items)} | ${m(kappaText(p.kappa))} | ${m(rateText(p.labels))} |`),
      '',
    );
  }
  return lines;
}
