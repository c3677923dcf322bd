// report.html and the dataset card from hand-made runs: hostile text stays text, counts are right,
// the same run gives the same bytes, and the card's front matter is what the Hub parses.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  buildDigest,
  cardMetadata,
  DigestBuilder,
  GALLERY_SIZE,
  diffRuns,
  hubLicense,
  renderCard,
  renderReport,
  thumbnailKeys,
  type AuditDigest,
  type AuditInput,
  type PreviousRunState,
} from '../../../pipelines/audit/index.ts';
import { loadThumbnails, THUMBNAIL_WIDTH } from '../../../pipelines/audit/thumbnails.ts';
import { segmentDrop } from '../../../pipelines/drops.ts';
import { emptyStageStats } from '../../../pipelines/stats.ts';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import type { AgreementCues } from '../../../schemas/cues.ts';
import type { Emotion } from '../../../schemas/emotion.ts';
import { Segment, type Drop } from '../../../schemas/records.ts';
import { COLUMNS, Sample, type Split, type Task } from '../../../schemas/sample.ts';
import { formatTable } from '../../../scripts/commands/audit.ts';
import { tempDir } from '../../helpers.ts';

const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');
const HOSTILE = `</dd></article><script>alert("x")</script><img src=x onerror=alert(1)> & 'quotes' | # *bold*`;
const provenance = (field: string) => ({ teacher: 'rules', model: 'rules-v3', template: `${field}.rules@1` });

interface SegmentSpec {
  name: string;
  primary: Emotion;
  start?: number;
  end?: number;
  transcript?: string;
  speaker?: string;
  licence?: string;
  frame?: string;
  judge?: number;
  agreement?: Partial<Record<'visual' | 'acoustic' | 'lexical' | 'reference', Emotion | null>> & { tag?: AgreementCues['tag'] };
}

function segment(spec: SegmentSpec): Segment {
  const clipId = hex(`clip ${spec.name}`);
  const a = spec.agreement ?? {};
  const estimate = (e: Emotion | null | undefined) => (e ? { emotion: e, confidence: 0.7 } : null);
  return Segment.parse({
    id: hex(`segment ${spec.name}`),
    clipId,
    clip: {
      id: clipId,
      uri: `${spec.name}.mp4`,
      name: spec.name,
      bytes: 1000,
      probe: { duration: spec.end ?? 3, formatName: 'mp4', hasVideo: true, hasAudio: true },
      manifest: { speaker: spec.speaker, licence: spec.licence, label: spec.primary },
      partition: 0,
    },
    index: 0,
    start: spec.start ?? 0,
    end: spec.end ?? 3,
    frames: spec.frame ? [{ key: spec.frame, bytes: 10, time: 0.5 }] : [],
    transcript: { text: spec.transcript ?? `${spec.name} says something`, language: 'en', engine: 'manifest' },
    cues: {
      agreement: {
        visual: estimate(a.visual),
        acoustic: estimate(a.acoustic),
        lexical: estimate(a.lexical),
        reference: { source: a.reference ? 'label' : 'none', emotion: a.reference ?? null },
        acousticBaseline: 'absolute',
        tag: a.tag ?? 'consistent',
      },
    },
    description: { text: `The person in ${spec.name} looks ${spec.primary}.`, provenance: provenance('describe') },
    labels: { primary: spec.primary, openset: [spec.primary], sentiment: 'neutral', valence: 0.2, arousal: -0.1, provenance: provenance('labels') },
    qa: [{ kind: 'mcq', question: 'Which emotion?', options: [spec.primary, 'sad'], answer: spec.primary, provenance: provenance('qa') }],
    rationale: {
      steps: [`Step 1: the transcript says "${spec.transcript ?? ''}"`, `Step 2: predicted emotion is ${spec.primary}`],
      emotion: spec.primary,
      provenance: provenance('rationale'),
    },
    ...(spec.judge ? { judge: { score: spec.judge, reason: `rubric ${HOSTILE}`, provenance: provenance('judge') } } : {}),
  });
}

function rowsOf(s: Segment, split: Split, tasks: readonly Task[] = ['description', 'mcq']): Sample[] {
  return tasks.map((task) =>
    Sample.parse({
      id: hex(`row ${s.id} ${task}`),
      clip_id: s.clipId,
      segment_id: s.id,
      name: s.clip.name,
      uri: s.clip.uri,
      start: s.start,
      end: s.end,
      speaker: s.clip.manifest.speaker ?? null,
      label: s.clip.manifest.label ?? null,
      transcript: s.transcript!.text,
      language: 'en',
      primary_emotion: s.labels!.primary,
      openset: s.labels!.openset,
      sentiment: s.labels!.sentiment,
      valence: s.labels!.valence,
      arousal: s.labels!.arousal,
      task,
      conversations: [
        { from: 'human', value: 'q' },
        { from: 'gpt', value: 'a' },
      ],
      video: null,
      audio: null,
      frames: [],
      face_crops: [],
      conflict: s.cues?.agreement?.tag ?? null,
      cues: '{}',
      teacher: 'rules',
      model: 'rules-v3',
      template: 'describe.rules@1',
      split,
      transcript_en: s.transcript!.text,
      label_source: null,
      official_split: null,
      review: 'none',
      review_hash: null,
      speaker_track: null,
      speaker_confidence: null,
      speaker_method: null,
      faces: null,
      peak_frame: null,
      peak_time: null,
    }),
  );
}

function stats(): AuditInput['stats'] {
  const table: AuditInput['stats'] = {};
  const put = (stage: string, i: number, o: number, dropped: Record<string, number> = {}) =>
    (table[stage] = { ...emptyStageStats(), in: i, out: o, dropped, wallMs: 1234.5 });
  put('ingest', 6, 5, { 'empty-file': 1 });
  put('labels', 5, 5);
  put('filter', 5, 3, { 'too-long': 1, 'description-too-short': 1 });
  put('write', 3, 3);
  return table;
}

/** Three kept segments (happy, happy, sad), two dropped by the filter after labels (angry, happy), one source rejected by ingest. */
function run(overrides: Partial<AuditInput> = {}): AuditInput {
  const kept = [
    segment({
      name: 'clip-a',
      primary: 'happy',
      speaker: 'spk1',
      licence: 'CC BY 4.0',
      frame: 'media/aa/frame-a.jpg',
      judge: 8,
      agreement: { reference: 'happy', visual: 'happy', acoustic: 'sad', lexical: 'happy', tag: 'video-aligned' },
    }),
    segment({
      name: HOSTILE,
      primary: 'happy',
      transcript: HOSTILE,
      speaker: HOSTILE,
      licence: 'CC BY 4.0',
      agreement: { reference: 'happy', visual: 'happy', acoustic: null, lexical: 'sad', tag: 'video-aligned' },
    }),
    segment({
      name: 'clip-c',
      primary: 'sad',
      end: 4.5,
      speaker: 'spk3',
      licence: 'cc-by-4.0',
      judge: 10,
      agreement: { reference: 'sad', visual: 'sad', acoustic: 'sad', lexical: 'sad', tag: 'consistent' },
    }),
  ];
  const droppedAngry = segment({
    name: 'clip-d',
    primary: 'angry',
    end: 9,
    transcript: `angry ${HOSTILE}`,
    frame: 'media/dd/frame-d.jpg',
    agreement: { tag: 'ambiguous' },
  });
  const droppedHappy = segment({ name: 'clip-e', primary: 'happy', end: 2, judge: 3 });
  const drops: Drop[] = [
    { id: hex('empty'), clipId: null, uri: 'empty.mp4', stage: 'ingest', reason: 'empty-file', detail: 'the file is empty' },
    segmentDrop(droppedAngry, 'filter', { reason: 'too-long', detail: `9.00s > maxDurationSec 5 ${HOSTILE}` }),
    segmentDrop(droppedHappy, 'filter', { reason: 'description-too-short', detail: '3 chars < 20' }),
  ];
  const rows = [...rowsOf(kept[0], 'train'), ...rowsOf(kept[1], 'validation'), ...rowsOf(kept[2], 'test', ['description', 'mcq', 'rationale'])];
  return {
    corpus: 'corpus <one>',
    emoforge: '0.1.0',
    configFingerprint: hex('config'),
    stages: ['ingest', 'labels', 'filter', 'write'].map((name, i) => ({ name, version: 1, fingerprint: hex(`${name}${i}`) })),
    stats: stats(),
    teacherUsage: {
      labels: { gpt: { calls: 7, cacheHits: 2, retries: 1, invalidRetries: 0, answers: 5, failures: 0, inputTokens: 1200, outputTokens: 300, usd: 0.0123 } },
    },
    sourcesSeen: 6,
    segments: kept,
    rows,
    drops,
    shards: [
      { file: 'shards/train-00000-of-00001.parquet', split: 'train', rows: 2, bytes: 1000 },
      { file: 'shards/validation-00000-of-00001.parquet', split: 'validation', rows: 2, bytes: 900 },
      { file: 'shards/test-00000-of-00001.parquet', split: 'test', rows: 3, bytes: 1100 },
    ],
    columns: COLUMNS,
    previous: { kind: 'none' },
    ...overrides,
  };
}

const ALLOWED_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'header',
  'main',
  'nav',
  'section',
  'h1',
  'h2',
  'h3',
  'h4',
  'div',
  'p',
  'a',
  'b',
  'span',
  'code',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'article',
  'img',
  'br',
  'svg',
  'rect',
  'text',
  'line',
]);

describe('report.html', () => {
  it('keeps hostile clip text as text: no script, no event handler, only the tags the report writes', () => {
    const html = renderReport(buildDigest(run()), new Map());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img[^>]*onerror/i);
    for (const [tag] of html.matchAll(/<[a-zA-Z][^>]*>/g)) expect(tag).not.toMatch(/\son[a-z]+\s*=/i);
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1].toLowerCase()));
    for (const tag of tags) expect(ALLOWED_TAGS.has(tag), `unexpected <${tag}>`).toBe(true);
    // The hostile transcript, name and speaker are shown, escaped (kept gallery and rejected example).
    const escaped = '&lt;/dd&gt;&lt;/article&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &#39;quotes&#39;';
    expect(html.split(escaped).length - 1).toBeGreaterThanOrEqual(4);
    expect(html).toContain('corpus &lt;one&gt;');
  });

  it('is self-contained and forbids any network access or script', () => {
    const html = renderReport(buildDigest(run()), new Map([['media/aa/frame-a.jpg', 'data:image/jpeg;base64,AAAA']]));
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`);
    for (const [, src] of html.matchAll(/<img src="([^"]*)"/g)) expect(src).toMatch(/^data:image\/jpeg;base64,/);
  });

  it('gives the same bytes for the same run, whatever the order records arrive in, and reads no clock', () => {
    const input = run();
    const a = renderReport(buildDigest(input), new Map());
    const b = renderReport(
      buildDigest({ ...input, segments: [...input.segments].reverse(), rows: [...input.rows].reverse(), drops: [...input.drops].reverse() }),
      new Map(),
    );
    expect(b).toBe(a);
    expect(a).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
    expect(renderCard(buildDigest(input))).toBe(renderCard(buildDigest({ ...input, segments: [...input.segments].reverse() })));
  });

  it('counts labels before filtering from kept segments and dropped snapshots, and kept ones after', () => {
    const digest = buildDigest(run());
    expect(digest.labels).toEqual([
      { label: 'happy', before: 3, after: 2 },
      { label: 'sad', before: 1, after: 1 },
      { label: 'angry', before: 1, after: 0 },
    ]);
    expect([...digest.durations.before].sort((a, b) => a - b)).toEqual([2, 3, 3, 4.5, 9]);
    expect([...digest.durations.after].sort((a, b) => a - b)).toEqual([3, 3, 4.5]);
    expect(digest.dropReasons).toEqual([
      { stage: 'ingest', reason: 'empty-file', count: 1 },
      { stage: 'filter', reason: 'description-too-short', count: 1 },
      { stage: 'filter', reason: 'too-long', count: 1 },
    ]);
    expect(digest.conflicts.find((c) => c.tag === 'ambiguous')).toMatchObject({ before: 1, after: 0 });
    // Judge scores: kept ones, and before filtering the dropped judged segment too.
    const judge = digest.scores.find((s) => s.name === 'judge score')!;
    expect([...judge.values].sort()).toEqual([10, 8]);
    expect([...judge.before!].sort((a, b) => a - b)).toEqual([3, 8, 10]);
    expect(digest.conflicts.find((c) => c.tag === 'video-aligned')).toMatchObject({ before: 2, after: 2 });
  });

  it('builds the agreement matrix from the modalities that have an estimate', () => {
    const { agreement } = buildDigest(run());
    // order: reference, visual, acoustic, lexical
    expect(agreement.segments).toBe(3);
    expect(agreement.both[0][1]).toBe(3);
    expect(agreement.agree[0][1]).toBe(3);
    expect(agreement.both[0][2]).toBe(2);
    expect(agreement.agree[0][2]).toBe(1);
    expect(agreement.both[2][2]).toBe(2);
    expect(agreement.agree[0][3]).toBe(2);
  });

  it('draws every chart with bars, shows the gallery and rejected examples per reason', () => {
    const html = renderReport(buildDigest(run()), new Map([['media/dd/frame-d.jpg', 'data:image/jpeg;base64,BBBB']]));
    const charts = [...html.matchAll(/<svg class="chart"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    // funnel, drops, labels, duration + judge + 5 score histograms, heatmap, conflicts, teacher usage, provenance
    expect(charts.length).toBeGreaterThanOrEqual(11);
    expect(html).toContain('judge score <span class="muted">(n = 3 before filtering, 2 kept)</span>');
    expect(html).toContain('<dt>Judge score</dt><dd>3/10</dd>');
    expect(html).toContain('<dt>Judge</dt><dd>8/10: rubric &lt;/dd&gt;');
    for (const chart of charts) expect(chart).toMatch(/<rect class="(s\d|heat)"[^>]* width="[1-9][\d.]*"/);
    expect(html.match(/<article class="sample">/g)).toHaveLength(3);
    expect(html.match(/<article class="sample rejected">/g)).toHaveLength(3);
    expect(html).toContain('<span class="reason">too-long</span>');
    expect(html).toContain('<img src="data:image/jpeg;base64,BBBB"');
    expect(html).toContain('$0.0123');
    expect(html).toContain('No previous run of this corpus');
  });

  it('says what changed since the previous run: rows and segments added and removed, label shifts, split moves', () => {
    const input = run();
    const [a, b, c] = input.segments;
    const previous: PreviousRunState = {
      kind: 'run',
      configFingerprint: hex('old config'),
      createdAt: '2026-01-02T03:04:05.000Z',
      rows: [
        // a: same rows, was sad (label shift), was in test (split move); c: one row fewer before; gone: removed
        ...rowsOf(a, 'train').map((r) => ({ id: r.id, segmentId: r.segment_id, name: r.name, primary: 'sad', split: 'test' })),
        ...rowsOf(c, 'test', ['description', 'mcq']).map((r) => ({
          id: r.id,
          segmentId: r.segment_id,
          name: r.name,
          primary: r.primary_emotion,
          split: r.split,
        })),
        { id: hex('old row'), segmentId: hex('gone'), name: 'gone-clip', primary: 'angry', split: 'train' },
      ],
    };
    const changes = diffRuns(
      previous,
      input.rows.map((r) => ({ id: r.id, segmentId: r.segment_id, name: r.name, primary: r.primary_emotion, split: r.split })),
    );
    expect(changes.rowsAdded).toBe(3); // b's two rows, c's rationale row
    expect(changes.rowsRemoved).toBe(1);
    expect(changes.rowsKept).toBe(4);
    expect(changes.segmentsAdded.map((s) => s.id)).toEqual([b.id]);
    expect(changes.segmentsRemoved.map((s) => s.name)).toEqual(['gone-clip']);
    expect(changes.labelShifts).toEqual([{ id: a.id, name: 'clip-a', from: 'sad', to: 'happy' }]);
    expect(changes.splitMoves).toEqual([{ id: a.id, name: 'clip-a', from: 'test', to: 'train' }]);
    const html = renderReport(buildDigest({ ...input, previous }), new Map());
    expect(html).toContain('Previous run: 2026-01-02T03:04:05.000Z');
    expect(html).toContain('clip-a <span class="muted">');
    expect(html).toContain('sad → happy');
    expect(html).toContain('gone-clip');
  });

  it('embeds keyframes from the store as small JPEG thumbnails', async () => {
    const store = new LocalStore(await tempDir());
    const frame = await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 200, g: 40, b: 40 } } })
      .jpeg()
      .toBuffer();
    await store.put('media/aa/frame-a.jpg', frame);
    const digest = buildDigest(run());
    expect(thumbnailKeys(digest)).toEqual(['media/aa/frame-a.jpg', 'media/dd/frame-d.jpg']);
    const thumbnails = await loadThumbnails(store, thumbnailKeys(digest));
    expect([...thumbnails.keys()]).toEqual(['media/aa/frame-a.jpg']); // frame-d is not in the store
    const jpeg = Buffer.from(thumbnails.get('media/aa/frame-a.jpg')!.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
    const meta = await sharp(jpeg).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.width).toBe(THUMBNAIL_WIDTH);
    expect(jpeg.length).toBeLessThan(frame.length);
    const html = renderReport(digest, thumbnails);
    expect(html).toContain('<div class="noframe">no keyframe</div>');
  });
});

describe('dataset card', () => {
  it('has Hugging Face front matter: licence, task categories, configs per split, features and row counts', () => {
    const card = renderCard(buildDigest(run()));
    const match = /^---\n([\s\S]*?)\n---\n/.exec(card);
    expect(match).not.toBeNull();
    const meta = parseYaml(match![1]);
    expect(meta.license).toBe('cc-by-4.0');
    expect(meta.pretty_name).toBe('corpus <one>');
    expect(meta.language).toEqual(['en']);
    expect(meta.task_categories).toEqual(['video-text-to-text', 'video-classification']);
    expect(meta.configs).toEqual([
      {
        config_name: 'default',
        data_files: [
          { split: 'train', path: 'shards/train-*.parquet' },
          { split: 'validation', path: 'shards/validation-*.parquet' },
          { split: 'test', path: 'shards/test-*.parquet' },
        ],
      },
    ]);
    expect(meta.dataset_info.splits).toEqual([
      { name: 'train', num_bytes: 1000, num_examples: 2 },
      { name: 'validation', num_bytes: 900, num_examples: 2 },
      { name: 'test', num_bytes: 1100, num_examples: 3 },
    ]);
    expect(meta.dataset_info.features.map((f: { name: string }) => f.name)).toEqual(COLUMNS.map((c) => c.name));
    expect(meta.dataset_info.features.find((f: { name: string }) => f.name === 'conversations')).toEqual({
      name: 'conversations',
      list: [
        { name: 'from', dtype: 'string' },
        { name: 'value', dtype: 'string' },
      ],
    });
    expect(meta.dataset_info.features.find((f: { name: string }) => f.name === 'openset')).toEqual({ name: 'openset', sequence: 'string' });
    // Media columns are typed the way `datasets` writes Video, Audio and lists of Image in a card.
    const featureOf = (name: string) => meta.dataset_info.features.find((f: { name: string }) => f.name === name);
    expect(featureOf('video')).toEqual({ name: 'video', dtype: 'video' });
    expect(featureOf('audio')).toEqual({ name: 'audio', dtype: { audio: { sampling_rate: 16000 } } });
    expect(featureOf('frames')).toEqual({ name: 'frames', list: 'image' });
    expect(featureOf('face_crops')).toEqual({ name: 'face_crops', list: 'image' });
    expect(meta.size_categories).toEqual(['n<1K']);
  });

  it('states provenance and the funnel, and escapes clip-derived text in the body', () => {
    const card = renderCard(buildDigest(run()));
    const body = card.slice(card.indexOf('\n---\n', 4));
    expect(body).toContain(hex('config'));
    expect(body).toContain('`describe.rules@1`');
    expect(body).toContain('| labels | gpt | 7 | 2 | 1,200 | 300 | $0.0123 |');
    expect(body).toContain('| filter | 5 | 3 | 2 | description-too-short 1, too-long 1 |');
    expect(body).toContain('load_dataset(".")');
    expect(body).toContain('`media.jsonl`');
    expect(body).not.toMatch(/<(script|img|article)/i);
    expect(body).toContain('# corpus &lt;one&gt;');
  });

  it('takes the licence from the manifest when every kept clip names one the Hub knows, else other', () => {
    expect(hubLicense('CC BY 4.0')).toBe('cc-by-4.0');
    expect(hubLicense('Apache License 2.0')).toBe('apache-2.0');
    expect(hubLicense('MIT')).toBe('mit');
    expect(hubLicense('my own terms')).toBeUndefined();
    const base = run();
    const withLicences = (licences: (string | undefined)[]) =>
      cardMetadata(
        buildDigest({
          ...base,
          segments: base.segments.map((s, i) => ({ ...s, clip: { ...s.clip, manifest: { ...s.clip.manifest, licence: licences[i] } } })),
        }),
      );
    expect(withLicences(['CC BY 4.0', 'cc-by-4.0', 'CC-BY-4.0']).license).toBe('cc-by-4.0');
    expect(withLicences(['CC BY 4.0', 'MIT', 'MIT']).license).toEqual(['cc-by-4.0', 'mit']);
    expect(withLicences([undefined, undefined, undefined]).license).toBe('other');
    expect(withLicences(['MIT', undefined, 'MIT']).license).toBe('other');
    const custom = withLicences(['Research only <b>', 'Research only <b>', 'Research only <b>']);
    expect(custom.license).toBe('other');
    expect(custom.license_name).toBe('research-only-b');
  });
});

describe('audit table output', () => {
  it('pads columns, right-aligns numbers, cuts long cells and says how many rows there were', () => {
    const text = formatTable(
      {
        columns: [
          { name: 'reason', type: 'VARCHAR' },
          { name: 'n', type: 'BIGINT' },
        ],
        rows: [
          ['too-long', 12],
          ['x'.repeat(100), 3],
          ['empty-file', 100],
        ],
      },
      2,
    );
    expect(text.split('\n')).toEqual([
      `reason${' '.repeat(54)}   n`,
      `${'-'.repeat(60)}  --`,
      `too-long${' '.repeat(52)}  12`,
      `${'x'.repeat(59)}…   3`,
      '(3 rows, first 2 shown; --max-rows N or --json for more)',
      '',
    ]);
  });
});

describe('DigestBuilder (the digest as the write stage streams the corpus)', () => {
  /** Histogram values in ascending order: the digest keeps them in arrival order, and only their bins are shown. */
  const normalised = (d: AuditDigest) => ({
    ...d,
    durations: { before: [...d.durations.before].sort(), after: [...d.durations.after].sort() },
    scores: d.scores.map((s) => ({ ...s, values: [...s.values].sort(), ...(s.before ? { before: [...s.before].sort() } : {}) })),
  });

  it('gives the whole-corpus digest when segments and rows arrive one at a time in partition order, keeping only the first segments by id for the gallery and examples', () => {
    const emotions: Emotion[] = ['happy', 'sad', 'angry'];
    const tags = ['consistent', 'video-aligned', 'ambiguous'] as const;
    const kept = Array.from({ length: 60 }, (_, i) =>
      segment({
        name: `clip-${String(i).padStart(2, '0')}`,
        primary: emotions[i % 3],
        judge: 1 + (i % 10),
        end: 1 + (i % 7) / 2,
        licence: i % 2 ? 'CC BY 4.0' : undefined,
        agreement: { reference: emotions[i % 3], visual: emotions[(i + i * i) % 3], acoustic: emotions[i % 3], tag: tags[(i * 7) % 3] },
      }),
    );
    const splits: Split[] = ['train', 'validation', 'test'];
    const rows = kept.flatMap((s, i) => rowsOf(s, splits[i % 3], i % 4 ? ['description', 'mcq'] : ['description']));
    const input = run({ segments: kept, rows });
    const whole = buildDigest(input);

    // The order a run streams them in: partition by partition, not by id.
    const builder = new DigestBuilder({ keepRows: false });
    for (const s of [...kept].sort((a, b) => (hex(a.clip.name) < hex(b.clip.name) ? -1 : 1))) {
      const own = rows.filter((r) => r.segment_id === s.id);
      builder.addRows(own);
      builder.addKept(s, own[0].split, own.length);
    }
    const { segments: _segments, rows: _rows, ...rest } = input;
    const streamed = builder.digest(rest);
    expect(normalised(streamed)).toEqual(normalised(whole));
    expect(renderReport(streamed, new Map())).toBe(renderReport(whole, new Map()));
    expect(renderCard(streamed)).toBe(renderCard(whole));

    // Worked out here from every kept segment in id order.
    const byId = [...kept].sort((a, b) => (a.id < b.id ? -1 : 1));
    const queues = ['angry', 'happy', 'sad'].map((label) => byId.filter((s) => s.labels!.primary === label));
    const gallery = Array.from({ length: GALLERY_SIZE }, (_, k) => queues[k % 3][Math.floor(k / 3)].id);
    expect(streamed.gallery.map((k) => k.segment.id)).toEqual(gallery);
    expect(streamed.gallery.map((k) => k.rows)).toEqual(gallery.map((id) => rows.filter((r) => r.segment_id === id).length));
    for (const c of streamed.conflicts)
      expect(c.examples).toEqual(
        byId
          .filter((s) => s.cues?.agreement?.tag === c.tag)
          .map((s) => s.clip.name)
          .slice(0, 8),
      );
    for (const c of streamed.conflicts) expect(c.after).toBe(kept.filter((s) => s.cues?.agreement?.tag === c.tag).length);
    expect(streamed.totals).toMatchObject({ segments: 60, rows: rows.length });
    expect(streamed.licences).toEqual([
      { licence: '(none given)', clips: 30 },
      { licence: 'CC BY 4.0', clips: 30 },
    ]);
  });

  it('keeps the rows a diff against the previous run needs only when there is one', () => {
    const input = run({
      previous: {
        kind: 'run',
        configFingerprint: hex('old'),
        createdAt: 'version 1',
        rows: [{ id: hex('gone'), segmentId: hex('gone-seg'), name: 'gone', primary: 'sad', split: 'train' }],
      },
    });
    const builder = new DigestBuilder({ keepRows: true });
    for (const s of input.segments) {
      const own = input.rows.filter((r) => r.segment_id === s.id);
      builder.addRows(own);
      builder.addKept(s, own[0].split, own.length);
    }
    const { segments: _segments, rows: _rows, ...rest } = input;
    const changes = builder.digest(rest).changes!;
    expect(changes).toEqual(buildDigest(input).changes);
    expect(changes.rowsAdded).toBe(input.rows.length);
    expect(changes.segmentsRemoved.map((s) => s.name)).toEqual(['gone']);
  });
});
