// report.html: one self-contained page per run. No script, no external resource (a CSP meta tag
// forbids both), charts as inline SVG, thumbnails as data: URIs; every string from a clip, a
// manifest or a teacher is escaped. No clock is read here: the same digest gives the same bytes.
import type { Drop } from '../../schemas/records.ts';
import type { AuditDigest, KeptSegment } from './digest.ts';
import { MODALITIES } from './digest.ts';
import { count, escapeHtml as e, fixed, percent } from './html.ts';
import { reviewSection } from './review-sections.ts';
import { binValues, heatmap, histogram, horizontalBars, type HeatCell, type Series } from './svg.ts';

const ONE: Series[] = [{ name: 'count', className: 's0' }];
const BEFORE_AFTER: Series[] = [
  { name: 'before filtering', className: 's1' },
  { name: 'kept', className: 's0' },
];

const STYLE = `
:root { --ink: #1d2430; --muted: #5b6678; --line: #d9dee7; --bg: #f6f7fa; --s0: #2f6fb3; --s1: #c9d6e8; --s2: #d9822b; --s3: #3f9c6d; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
nav a { margin-right: 12px; color: var(--s0); }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px 18px; margin: 16px 0; }
.muted, .meta { color: var(--muted); }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.kpi b { display: block; font-size: 18px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; }
svg.chart { width: 100%; height: auto; display: block; margin: 6px 0 10px; font-size: 11px; }
svg.chart text { fill: var(--ink); }
svg.chart text.on-dark { fill: #fff; }
svg.chart .s0, svg.chart .heat { fill: var(--s0); }
svg.chart .s1 { fill: var(--s1); }
svg.chart .s2 { fill: var(--s2); }
svg.chart .s3 { fill: var(--s3); }
svg.chart .empty { fill: #f0f1f4; }
svg.chart .axis { stroke: var(--muted); stroke-width: 1; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 4px 20px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 12px; }
.sample { display: flex; gap: 12px; border: 1px solid var(--line); border-radius: 6px; padding: 10px; background: #fff; }
.sample.rejected { border-color: #e2b9b9; background: #fffafa; }
.sample img, .sample .noframe { width: 160px; min-width: 160px; height: auto; border-radius: 4px; align-self: flex-start; }
.sample .noframe { height: 90px; background: #eceef2; color: var(--muted); display: flex; align-items: center; justify-content: center; font-size: 12px; }
.sample h4 { margin: 0 0 2px; font-size: 14px; word-break: break-all; }
.sample dl { margin: 6px 0 0; }
.sample dt { font-weight: 600; font-size: 12px; color: var(--muted); margin-top: 4px; }
.sample dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
.sample ol { margin: 0; padding-left: 18px; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 8px; background: #e6edf7; color: var(--s0); }
.reason { font-weight: 600; color: #a33; }
`;

/** The HTML page of one run. `thumbnails` maps keyframe store keys to data: URIs. */
export function renderReport(digest: AuditDigest, thumbnails: ReadonlyMap<string, string>): string {
  const { input } = digest;
  const sections = [
    ['funnel', 'Stage funnel', funnelSection(digest)],
    ['drops', 'Drop reasons', dropsSection(digest)],
    ['labels', 'Labels before and after filtering', labelsSection(digest)],
    ['histograms', 'Durations and scores', histogramsSection(digest)],
    ['agreement', 'Modality agreement', agreementSection(digest)],
    ['teachers', 'Teachers: usage and cost', teachersSection(digest)],
    ['changes', 'Changes since the previous run', changesSection(digest)],
    ['review', 'Human review', reviewSection(digest)],
    ['gallery', 'Gallery', gallerySection(digest, thumbnails)],
    ['rejected', 'Rejected examples', rejectedSection(digest, thumbnails)],
  ] as const;
  const splits = Object.entries(splitRows(digest))
    .map(([split, n]) => `${split} ${count(n)}`)
    .join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="emoforge ${e(input.emoforge)}">
<title>${e(input.corpus)} · emoforge report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(input.corpus)}</h1>
<div class="meta">emoforge ${e(input.emoforge)} · config <code>${e(input.configFingerprint.slice(0, 16))}</code></div>
<div class="kpis">
${kpi('sources', count(input.sourcesSeen))}${kpi('segments kept', count(digest.totals.segments))}${kpi('rows', count(digest.totals.rows))}${kpi('records rejected', count(digest.totals.rejected))}${kpi('teacher cost', `$${fixed(digest.totals.usd, 4)}`)}
</div>
<div class="meta">rows per split: ${e(splits || 'none')}</div>
<nav>${sections.map(([id, title]) => `<a href="#${id}">${e(title)}</a>`).join('')}</nav>
</header>
<main>
${sections.map(([id, title, body]) => `<section id="${id}">\n<h2>${e(title)}</h2>\n${body}\n</section>`).join('\n')}
</main>
</body>
</html>
`;
}

function kpi(label: string, value: string): string {
  return `<div class="kpi"><b>${e(value)}</b>${e(label)}</div>`;
}

function splitRows(digest: AuditDigest): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const shard of digest.input.shards) rows[shard.split] = (rows[shard.split] ?? 0) + shard.rows;
  return rows;
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[], numeric: readonly number[] = []): string {
  const cell = (tag: string, value: string | number, i: number) =>
    `<${tag}${numeric.includes(i) ? ' class="n"' : ''}>${typeof value === 'number' ? e(count(value)) : value}</${tag}>`;
  return `<table><thead><tr>${headers.map((h, i) => cell('th', e(h), i)).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((v, i) => cell('td', v, i)).join('')}</tr>`).join('')}</tbody></table>`;
}

function funnelSection(digest: AuditDigest): string {
  const { funnel } = digest;
  if (funnel.length === 0) return '<p class="muted">No stage statistics.</p>';
  const chart = horizontalBars(
    'records into and out of each stage',
    funnel.map((f) => ({ label: f.stage, values: [f.stats.in, f.stats.out] })),
    [
      { name: 'in', className: 's1' },
      { name: 'out', className: 's0' },
    ],
    { overlay: true },
  );
  const rows = funnel.map((f) => {
    const dropped = Object.values(f.stats.dropped).reduce((a, b) => a + b, 0);
    const work = Object.entries(f.stats.work)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    return [e(f.stage), f.stats.in, f.stats.out, dropped, f.stats.cached, e(work || '–'), e(fixed(f.stats.wallMs / 1000, 1))];
  });
  return `${chart}${table(['stage', 'in', 'out', 'dropped', 'cached', 'work done', 'wall s'], rows, [1, 2, 3, 4, 6])}
<p class="muted">A clip stage's out counts segments; "cached" counts records whose result came from the store; wall time sums concurrent calls.</p>`;
}

function dropsSection(digest: AuditDigest): string {
  if (digest.dropReasons.length === 0) return '<p>Nothing was dropped.</p>';
  const chart = horizontalBars(
    'records dropped, by stage and reason',
    digest.dropReasons.map((d) => ({ label: `${d.stage}: ${d.reason}`, values: [d.count] })),
    ONE,
  );
  return `${chart}${table(
    ['stage', 'reason', 'records'],
    digest.dropReasons.map((d) => [e(d.stage), e(d.reason), d.count]),
    [2],
  )}<p class="muted">Every drop is a row of <code>rejects.parquet</code>; see <a href="#rejected">rejected examples</a>.</p>`;
}

function labelsSection(digest: AuditDigest): string {
  if (digest.labels.length === 0) return '<p class="muted">No segment got labels.</p>';
  const chart = horizontalBars(
    'primary emotion of every labelled segment, before filtering and kept',
    digest.labels.map((l) => ({ label: l.label, values: [l.before, l.after] })),
    BEFORE_AFTER,
  );
  const before = digest.labels.reduce((n, l) => n + l.before, 0);
  const after = digest.labels.reduce((n, l) => n + l.after, 0);
  return `${chart}${table(
    ['primary emotion', 'before filtering', 'share', 'kept', 'share'],
    digest.labels.map((l) => [e(l.label), l.before, e(percent(l.before, before)), l.after, e(percent(l.after, after))]),
    [1, 2, 3, 4],
  )}<p class="muted">Before = every segment that got labels, including those dropped after the labels stage (from <code>rejects.parquet</code>); kept = segments with rows.</p>`;
}

function histogramsSection(digest: AuditDigest): string {
  const charts: string[] = [];
  const { before, after } = digest.durations;
  if (before.length) {
    charts.push(
      `<div><h3>Segment duration (s)</h3>${histogram('segment durations in seconds', binValues([before, after], 12), BEFORE_AFTER, (n) => fixed(n, 2))}</div>`,
    );
  }
  for (const series of digest.scores) {
    const edge = (n: number) => fixed(n, series.digits);
    charts.push(
      series.before
        ? `<div><h3>${e(series.name)} <span class="muted">(n = ${series.before.length} before filtering, ${series.values.length} kept)</span></h3>${histogram(series.name, binValues([series.before, series.values], series.bins, series.domain), BEFORE_AFTER, edge)}</div>`
        : `<div><h3>${e(series.name)} <span class="muted">(kept segments, n = ${series.values.length})</span></h3>${histogram(series.name, binValues([series.values], series.bins, series.domain), ONE, edge)}</div>`,
    );
  }
  if (charts.length === 0) return '<p class="muted">No segments.</p>';
  return `<div class="charts">${charts.join('')}</div>`;
}

function agreementSection(digest: AuditDigest): string {
  const { agreement, conflicts } = digest;
  const parts: string[] = [];
  if (agreement.segments > 0) {
    const cells: HeatCell[][] = MODALITIES.map((mi, i) =>
      MODALITIES.map((mj, j) => {
        const both = agreement.both[i][j];
        const agree = agreement.agree[i][j];
        if (i === j)
          return {
            value: both / agreement.segments,
            text: `${percent(both, agreement.segments)} have one`,
            title: `${mi}: an estimate in ${both} of ${agreement.segments} segments`,
          };
        if (both === 0) return { value: null, text: 'n/a', title: `${mi} and ${mj} are never both present` };
        return {
          value: agree / both,
          text: `${percent(agree, both)} (${agree}/${both})`,
          title: `${mi} and ${mj} name the same emotion in ${agree} of the ${both} segments where both have one`,
        };
      }),
    );
    parts.push(heatmap('modality agreement: share of segments where both name the same emotion', MODALITIES, cells));
    parts.push(
      `<p class="muted">Kept segments with agreement cues: ${count(agreement.segments)}. Off the diagonal: how often two modalities name the same emotion where both have an estimate; on it: how often a modality has one. "reference" is the manifest label, else the cue majority.</p>`,
    );
  } else parts.push('<p class="muted">No kept segment carries agreement cues (cues.agreement did not run).</p>');
  if (conflicts.length) {
    parts.push('<h3>Conflict subsets (CA-MER)</h3>');
    parts.push(
      horizontalBars(
        'segments per conflict subset',
        conflicts.map((c) => ({ label: c.tag, values: [c.before, c.after] })),
        BEFORE_AFTER,
      ),
    );
    parts.push(
      table(
        ['subset', 'before filtering', 'kept', 'kept examples'],
        conflicts.map((c) => [e(c.tag), c.before, c.after, e(c.examples.join(', ') || '–')]),
        [1, 2],
      ),
    );
  }
  return parts.join('\n');
}

function teachersSection(digest: AuditDigest): string {
  const parts: string[] = [];
  if (digest.teachers.length) {
    parts.push(
      horizontalBars(
        'teacher requests and cache hits per role',
        digest.teachers.map((t) => ({ label: `${t.role}: ${t.teacher}`, values: [t.usage.calls, t.usage.cacheHits] })),
        [
          { name: 'requests', className: 's0' },
          { name: 'cache hits', className: 's3' },
        ],
      ),
    );
    parts.push(
      table(
        ['role', 'teacher', 'requests', 'cache hits', 'retries', 'invalid-output retries', 'failures', 'input tokens', 'output tokens', 'USD'],
        digest.teachers.map((t) => [
          e(t.role),
          e(t.teacher),
          t.usage.calls,
          t.usage.cacheHits,
          t.usage.retries,
          t.usage.invalidRetries,
          t.usage.failures,
          t.usage.inputTokens,
          t.usage.outputTokens,
          e(`$${fixed(t.usage.usd, 4)}`),
        ]),
        [2, 3, 4, 5, 6, 7, 8, 9],
      ),
    );
  } else parts.push('<p>No teacher endpoint was called in this run (the offline rules teacher, or every answer came from the cache): no tokens, no cost.</p>');
  if (digest.provenance.length) {
    parts.push('<h3>Who wrote the kept text</h3>');
    parts.push(
      horizontalBars(
        'kept segments per field and teacher',
        digest.provenance.map((p) => ({ label: `${p.field}: ${p.teacher}`, values: [p.segments] })),
        ONE,
      ),
    );
    parts.push(
      table(
        ['field', 'teacher', 'model', 'template', 'segments'],
        digest.provenance.map((p) => [e(p.field), e(p.teacher), e(p.model), `<code>${e(p.template)}</code>`, p.segments]),
        [4],
      ),
    );
  }
  return parts.join('\n');
}

function changesSection(digest: AuditDigest): string {
  const previous = digest.input.previous;
  if (previous.kind === 'none') return '<p>No previous run of this corpus in this folder: nothing to compare.</p>';
  if (previous.kind === 'other-corpus') return `<p>The folder held a run of another corpus (${e(previous.corpus)}); not compared.</p>`;
  if (previous.kind === 'unreadable') return `<p>The previous run could not be read: ${e(previous.detail)}</p>`;
  const c = digest.changes!;
  const parts = [
    `<p class="muted">Previous run: ${e(c.previous.createdAt)} · config <code>${e(c.previous.configFingerprint.slice(0, 16))}</code>${c.previous.configFingerprint === digest.input.configFingerprint ? ' (same config)' : ' (config changed)'}</p>`,
    table(
      ['', 'previous', 'now', 'added', 'removed'],
      [
        ['rows', c.previous.rows, digest.totals.rows, c.rowsAdded, c.rowsRemoved],
        ['segments', c.previous.segments, digest.totals.segments, c.segmentsAdded.length, c.segmentsRemoved.length],
      ],
      [1, 2, 3, 4],
    ),
    `<p>Label shifts: ${count(c.labelShifts.length)} · split moves: ${count(c.splitMoves.length)}</p>`,
  ];
  const shown = 50;
  const list = <T>(title: string, items: readonly T[], render: (item: T) => string) =>
    items.length
      ? `<h3>${e(title)}</h3><ul>${items
          .slice(0, shown)
          .map((item) => `<li>${render(item)}</li>`)
          .join('')}${items.length > shown ? `<li class="muted">… ${count(items.length - shown)} more</li>` : ''}</ul>`
      : '';
  const short = (id: string) => `<span class="muted">${e(id.slice(0, 12))}</span>`;
  parts.push(list('Label shifts', c.labelShifts, (s) => `${e(s.name)} ${short(s.id)}: ${e(s.from)} → ${e(s.to)}`));
  parts.push(list('Segments added', c.segmentsAdded, (s) => `${e(s.name)} ${short(s.id)} (${e(s.primary)}, ${e(s.split)})`));
  parts.push(list('Segments removed', c.segmentsRemoved, (s) => `${e(s.name)} ${short(s.id)} (${e(s.primary)}, ${e(s.split)})`));
  parts.push(list('Split moves', c.splitMoves, (s) => `${e(s.name)} ${short(s.id)}: ${e(s.from)} → ${e(s.to)}`));
  return parts.join('\n');
}

function thumbnail(key: string | null | undefined, name: string, thumbnails: ReadonlyMap<string, string>): string {
  const uri = key ? thumbnails.get(key) : undefined;
  return uri ? `<img src="${e(uri)}" alt="${e(`keyframe of ${name}`)}">` : '<div class="noframe">no keyframe</div>';
}

function keptCard(k: KeptSegment, thumbnails: ReadonlyMap<string, string>): string {
  const s = k.segment;
  const labels = s.labels;
  const meta = [
    `${fixed(s.start, 2)}–${fixed(s.end, 2)} s`,
    s.clip.manifest.speaker ? `speaker ${s.clip.manifest.speaker}` : '',
    s.clip.manifest.label ? `manifest label ${s.clip.manifest.label}` : '',
    s.cues?.agreement ? `conflict ${s.cues.agreement.tag}` : '',
    `${k.rows} rows`,
  ].filter(Boolean);
  const qa = (s.qa ?? [])
    .map(
      (q) =>
        `<li><b>Q</b> ${e(q.question)}${q.options?.length ? ` <span class="muted">[${e(q.options.join(' | '))}]</span>` : ''}<br><b>A</b> ${e(q.answer)}</li>`,
    )
    .join('');
  return `<article class="sample">${thumbnail(s.frames?.[0]?.key, s.clip.name, thumbnails)}<div>
<h4>${e(s.clip.name)} <span class="tag">${e(k.split)}</span></h4>
<div class="meta">${e(meta.join(' · '))}</div>
<dl>
${labels ? `<dt>Labels</dt><dd>${e(`${labels.primary} (${labels.sentiment}; valence ${fixed(labels.valence, 2)}, arousal ${fixed(labels.arousal, 2)}) · ${labels.openset.join(', ')}`)}</dd>` : ''}
<dt>Transcript</dt><dd>${e(s.transcript?.text || '–')}</dd>
${s.description ? `<dt>Description</dt><dd>${e(s.description.text)}</dd>` : ''}
${qa ? `<dt>QA</dt><dd><ol>${qa}</ol></dd>` : ''}
${s.rationale ? `<dt>Rationale</dt><dd><ol>${s.rationale.steps.map((step) => `<li>${e(step)}</li>`).join('')}</ol></dd>` : ''}
${s.judge ? `<dt>Judge</dt><dd>${e(`${s.judge.score}/10: ${s.judge.reason}`)}</dd>` : ''}
</dl></div></article>`;
}

function rejectedCard(d: Drop, thumbnails: ReadonlyMap<string, string>): string {
  const s = d.segment;
  const name = s?.name ?? d.uri;
  const fields: [string, string | null | undefined][] = s
    ? [
        ['Labels', s.primaryEmotion ? `${s.primaryEmotion}${s.sentiment ? ` (${s.sentiment})` : ''}` : null],
        ['Transcript', s.transcript],
        ['Description', s.description],
        ['QA', s.qa],
        ['Rationale', s.rationale],
        ['Judge score', typeof s.judgeScore === 'number' ? `${s.judgeScore}/10` : null],
      ]
    : [];
  const meta = [
    s ? `${fixed(s.start, 2)}–${fixed(s.end, 2)} s` : 'whole source',
    s?.speaker ? `speaker ${s.speaker}` : '',
    s?.label ? `manifest label ${s.label}` : '',
    s?.conflict ? `conflict ${s.conflict}` : '',
  ].filter(Boolean);
  return `<article class="sample rejected">${thumbnail(s?.frame, name, thumbnails)}<div>
<h4>${e(name)}</h4>
<div class="meta">${e(d.uri)} · ${e(meta.join(' · '))}</div>
<dl><dt>Why</dt><dd><span class="reason">${e(d.reason)}</span> at ${e(d.stage)}: ${e(d.detail)}</dd>
${fields
  .filter(([, v]) => v)
  .map(([k, v]) => `<dt>${k}</dt><dd>${e(v)}</dd>`)
  .join('\n')}
</dl></div></article>`;
}

function gallerySection(digest: AuditDigest, thumbnails: ReadonlyMap<string, string>): string {
  if (digest.gallery.length === 0) return '<p class="muted">No rows were written.</p>';
  return `<p class="muted">${digest.gallery.length} of ${count(digest.totals.segments)} kept segments, spread over primary emotions.</p>
<div class="gallery">${digest.gallery.map((k) => keptCard(k, thumbnails)).join('\n')}</div>`;
}

function rejectedSection(digest: AuditDigest, thumbnails: ReadonlyMap<string, string>): string {
  if (digest.rejected.length === 0) return '<p>Nothing was rejected.</p>';
  return digest.rejected
    .map(
      (
        r,
      ) => `<h3>${e(r.stage)}: <span class="reason">${e(r.reason)}</span> <span class="muted">(${count(r.total)} record${r.total === 1 ? '' : 's'}${r.total > r.examples.length ? `, ${r.examples.length} shown` : ''})</span></h3>
<div class="gallery">${r.examples.map((d) => rejectedCard(d, thumbnails)).join('\n')}</div>`,
    )
    .join('\n');
}
