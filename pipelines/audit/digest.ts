// Everything report.html and the dataset card show, computed once from what the write stage holds
// at the end of a run: the segments that reached it, the rows it wrote, every drop (dropped segments
// carry a snapshot), the stats, the teachers' usage and the previous run of the corpus.
// Pure and order-independent: the same run gives the same digest, so the same report bytes.
import { VOTERS, type AgreementCues } from '../../schemas/cues.ts';
import { EMOTIONS } from '../../schemas/emotion.ts';
import type { Drop, Segment } from '../../schemas/records.ts';
import type { Sample } from '../../schemas/sample.ts';

/** What the audit reads of a written row. */
export type AuditRow = Pick<Sample, 'id' | 'segment_id' | 'name' | 'primary_emotion' | 'split' | 'task'>;
import type { ColumnSpec } from '../parquet/index.ts';
import type { StageStats, StatsTable } from '../stats.ts';
import type { TeacherUsageCounters, TeacherUsageTable } from '../teachers/usage.ts';
import { diffRuns, type PreviousRunState, type RunChanges } from './previous-run.ts';
import { reviewDigest, type ReviewDigest } from './review-digest.ts';

export interface AuditInput {
  readonly corpus: string;
  readonly emoforge: string;
  readonly configFingerprint: string;
  /** every stage of the run, in run order */
  readonly stages: readonly { readonly name: string; readonly version: number; readonly fingerprint: string }[];
  readonly stats: StatsTable;
  readonly teacherUsage: TeacherUsageTable;
  readonly sourcesSeen: number;
  /** segments that reached the write stage */
  readonly segments: readonly Segment[];
  /** every row written */
  readonly rows: readonly AuditRow[];
  /** every record that left early (write's own drops included) */
  readonly drops: readonly Drop[];
  /** `split`: the published split name */
  readonly shards: readonly { readonly file: string; readonly split: string; readonly rows: number; readonly bytes: number }[];
  /** the human-reviewed subset's shards (OUT/reviewed/), when rows were reviewed */
  readonly reviewedShards?: readonly { readonly file: string; readonly split: string; readonly rows: number; readonly bytes: number }[];
  /** published split names, in train, validation, test order (default: the names the shards use, in their order) */
  readonly splitNames?: readonly string[];
  readonly columns: readonly ColumnSpec[];
  /** the media files under OUT/media that rows name, and whether the shards embed their bytes */
  readonly media?: { readonly files: number; readonly bytes: number; readonly embedded: boolean };
  readonly previous: PreviousRunState;
}

export interface KeptSegment {
  readonly segment: Segment;
  readonly split: string;
  readonly rows: number;
}

export interface FunnelStep {
  readonly stage: string;
  readonly stats: StageStats;
}

export interface Provenance {
  readonly field: string;
  readonly teacher: string;
  readonly model: string;
  readonly template: string;
  readonly segments: number;
}

export interface ScoreSeries {
  readonly name: string;
  readonly domain: readonly [number, number];
  readonly bins: number;
  /** decimals of the bin edges */
  readonly digits: number;
  /** kept segments */
  readonly values: readonly number[];
  /** every segment that had the score, dropped ones included, when drops record it */
  readonly before?: readonly number[];
}

export const MODALITIES = ['reference', ...VOTERS] as const;
export type Modality = (typeof MODALITIES)[number];

export interface AgreementMatrix {
  readonly segments: number;
  /** [i][j]: segments where both modalities have an estimate, and where they name the same emotion */
  readonly both: readonly (readonly number[])[];
  readonly agree: readonly (readonly number[])[];
}

export interface AuditDigest {
  readonly input: AuditInput;
  readonly kept: readonly KeptSegment[];
  readonly funnel: readonly FunnelStep[];
  readonly dropReasons: readonly { readonly stage: string; readonly reason: string; readonly count: number }[];
  /** primary emotions of every segment that got labels (before) and of the kept ones (after) */
  readonly labels: readonly { readonly label: string; readonly before: number; readonly after: number }[];
  readonly durations: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly scores: readonly ScoreSeries[];
  readonly agreement: AgreementMatrix;
  readonly conflicts: readonly { readonly tag: string; readonly before: number; readonly after: number; readonly examples: readonly string[] }[];
  readonly teachers: readonly { readonly role: string; readonly teacher: string; readonly usage: TeacherUsageCounters }[];
  readonly provenance: readonly Provenance[];
  readonly tasks: readonly { readonly task: string; readonly rows: number }[];
  readonly licences: readonly { readonly licence: string; readonly clips: number }[];
  readonly languages: readonly { readonly language: string; readonly segments: number }[];
  readonly gallery: readonly KeptSegment[];
  readonly rejected: readonly { readonly stage: string; readonly reason: string; readonly total: number; readonly examples: readonly Drop[] }[];
  readonly changes: RunChanges | undefined;
  /** human review, when the run had a review stage */
  readonly review: ReviewDigest | undefined;
  readonly totals: { readonly rows: number; readonly segments: number; readonly rejected: number; readonly bytes: number; readonly usd: number };
}

/** Kept segments shown in the gallery, spread over primary emotions. */
export const GALLERY_SIZE = 12;
/** Rejected examples shown per stage and reason. */
export const REJECTED_EXAMPLES = 3;

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function buildDigest(input: AuditInput): AuditDigest {
  const rowsBySegment = new Map<string, { split: string; rows: number }>();
  const tasks = new Map<string, number>();
  for (const row of input.rows) {
    const entry = rowsBySegment.get(row.segment_id) ?? { split: row.split, rows: 0 };
    entry.rows++;
    rowsBySegment.set(row.segment_id, entry);
    tasks.set(row.task, (tasks.get(row.task) ?? 0) + 1);
  }
  const kept: KeptSegment[] = [...input.segments]
    .filter((s) => rowsBySegment.has(s.id))
    .sort((a, b) => byText(a.id, b.id))
    .map((segment) => ({ segment, ...rowsBySegment.get(segment.id)! }));
  const dropped = input.drops.filter((d) => d.segment);

  const stageOrder = [
    ...input.stages.map((s) => s.name),
    ...Object.keys(input.stats)
      .filter((name) => !input.stages.some((s) => s.name === name))
      .sort(byText),
  ];
  const funnel = stageOrder.filter((stage) => input.stats[stage]).map((stage) => ({ stage, stats: input.stats[stage] }));
  const dropReasons = funnel.flatMap(({ stage, stats }) =>
    Object.entries(stats.dropped)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || byText(a[0], b[0]))
      .map(([reason, n]) => ({ stage, reason, count: n })),
  );

  const labelsBefore = countBy([...kept.map((k) => k.segment.labels?.primary), ...dropped.map((d) => d.segment!.primaryEmotion)]);
  const labelsAfter = countBy(kept.map((k) => k.segment.labels?.primary));
  const labels = orderedLabels([...labelsBefore.keys()]).map((label) => ({ label, before: labelsBefore.get(label) ?? 0, after: labelsAfter.get(label) ?? 0 }));

  const conflictsBefore = countBy([...kept.map((k) => k.segment.cues?.agreement?.tag), ...dropped.map((d) => d.segment!.conflict)]);
  const conflictsAfter = countBy(kept.map((k) => k.segment.cues?.agreement?.tag));
  const conflicts = [...conflictsBefore.keys()].sort(byText).map((tag) => ({
    tag,
    before: conflictsBefore.get(tag) ?? 0,
    after: conflictsAfter.get(tag) ?? 0,
    examples: kept
      .filter((k) => k.segment.cues?.agreement?.tag === tag)
      .map((k) => k.segment.clip.name)
      .slice(0, 8),
  }));

  const teachers = Object.entries(input.teacherUsage)
    .flatMap(([role, byTeacher]) => Object.entries(byTeacher).map(([teacher, usage]) => ({ role, teacher, usage })))
    .filter((t) => t.usage.calls + t.usage.cacheHits + t.usage.answers + t.usage.failures > 0)
    .sort((a, b) => byText(a.role, b.role) || byText(a.teacher, b.teacher));

  const clipLicences = new Map<string, string>();
  for (const k of kept) clipLicences.set(k.segment.clipId, k.segment.clip.manifest.licence?.trim() || '(none given)');
  const licences = [...countBy([...clipLicences.values()])].sort((a, b) => b[1] - a[1] || byText(a[0], b[0])).map(([licence, clips]) => ({ licence, clips }));
  const languages = [...countBy(kept.map((k) => k.segment.transcript?.language ?? 'und'))]
    .sort((a, b) => b[1] - a[1] || byText(a[0], b[0]))
    .map(([language, segments]) => ({ language, segments }));

  const current = input.rows.map((r) => ({ id: r.id, segmentId: r.segment_id, name: r.name, primary: r.primary_emotion, split: r.split }));
  return {
    input,
    kept,
    funnel,
    dropReasons,
    labels,
    durations: {
      before: [...kept.map((k) => k.segment.end - k.segment.start), ...dropped.map((d) => d.segment!.end - d.segment!.start)],
      after: kept.map((k) => k.segment.end - k.segment.start),
    },
    scores: scoreSeries(kept, dropped),
    agreement: agreementMatrix(kept.map((k) => k.segment.cues?.agreement).filter((a): a is AgreementCues => a !== undefined)),
    conflicts,
    teachers,
    provenance: provenanceOf(kept),
    tasks: [...tasks].sort((a, b) => byText(a[0], b[0])).map(([task, rows]) => ({ task, rows })),
    licences,
    languages,
    gallery: gallery(kept),
    rejected: rejectedExamples(input.drops, stageOrder),
    changes: input.previous.kind === 'run' ? diffRuns(input.previous, current) : undefined,
    review: reviewDigest(
      kept.map((k) => k.segment),
      input.drops,
      input.stats,
      input.reviewedShards ?? [],
    ),
    totals: {
      rows: input.rows.length,
      segments: kept.length,
      rejected: input.drops.length,
      bytes: input.shards.reduce((n, s) => n + s.bytes, 0),
      usd: teachers.reduce((n, t) => n + t.usage.usd, 0),
    },
  };
}

/** Store keys of the keyframes the report shows (gallery and rejected examples). */
export function thumbnailKeys(digest: AuditDigest): string[] {
  const keys = [...digest.gallery.map((k) => k.segment.frames?.[0]?.key), ...digest.rejected.flatMap((r) => r.examples.map((d) => d.segment?.frame))];
  return [...new Set(keys.filter((k): k is string => typeof k === 'string'))].sort(byText);
}

function countBy(values: readonly (string | null | undefined)[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null && v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** The fixed emotions first, in their usual order, then any other label alphabetically. */
function orderedLabels(labels: readonly string[]): string[] {
  const known = EMOTIONS.filter((e) => labels.includes(e));
  const other = labels.filter((l) => !(EMOTIONS as readonly string[]).includes(l)).sort(byText);
  return [...known, ...other];
}

function scoreSeries(kept: readonly KeptSegment[], dropped: readonly Drop[]): ScoreSeries[] {
  const numbers = (values: readonly (number | null | undefined)[]) => values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const values = (pick: (s: Segment) => number | null | undefined) => numbers(kept.map((k) => pick(k.segment)));
  const unit = { domain: [0, 1], bins: 10, digits: 1 } as const;
  const signed = { domain: [-1, 1], bins: 10, digits: 1 } as const;
  const judged = values((s) => s.judge?.score);
  const series: ScoreSeries[] = [
    // One bin per score; before = kept plus the judged segments that were dropped (judge-below-threshold and later drops).
    { name: 'judge score', domain: [1, 11], bins: 10, digits: 0, values: judged, before: [...judged, ...numbers(dropped.map((d) => d.segment!.judgeScore))] },
    { name: 'valence', ...signed, values: values((s) => s.labels?.valence) },
    { name: 'arousal', ...signed, values: values((s) => s.labels?.arousal) },
    ...VOTERS.map((voter) => ({ name: `${voter} confidence`, ...unit, values: values((s) => s.cues?.agreement?.[voter]?.confidence) })),
    { name: 'face ratio', ...unit, values: values((s) => s.cues?.visual?.faceRatio) },
  ];
  return series.filter((s) => s.values.length > 0 || (s.before?.length ?? 0) > 0);
}

function agreementMatrix(agreements: readonly AgreementCues[]): AgreementMatrix {
  const emotionOf = (a: AgreementCues, m: Modality) => (m === 'reference' ? a.reference.emotion : (a[m]?.emotion ?? null));
  const both = MODALITIES.map(() => MODALITIES.map(() => 0));
  const agree = MODALITIES.map(() => MODALITIES.map(() => 0));
  for (const a of agreements) {
    MODALITIES.forEach((mi, i) =>
      MODALITIES.forEach((mj, j) => {
        const x = emotionOf(a, mi);
        const y = emotionOf(a, mj);
        if (x === null || y === null) return;
        both[i][j]++;
        if (x === y) agree[i][j]++;
      }),
    );
  }
  return { segments: agreements.length, both, agree };
}

function provenanceOf(kept: readonly KeptSegment[]): Provenance[] {
  const counts = new Map<string, Provenance>();
  const add = (field: string, p: { teacher: string; model: string; template: string } | undefined) => {
    if (!p) return;
    const key = JSON.stringify([field, p.teacher, p.model, p.template]);
    const entry = counts.get(key);
    counts.set(key, { field, teacher: p.teacher, model: p.model, template: p.template, segments: (entry?.segments ?? 0) + 1 });
  };
  for (const { segment } of kept) {
    add('visual clues', segment.clues?.visual?.provenance);
    add('acoustic clues', segment.clues?.acoustic?.provenance);
    add('description', segment.description?.provenance);
    add('labels', segment.labels?.provenance);
    add('crosscheck labels', segment.crosscheck?.provenance);
    const qa = new Map((segment.qa ?? []).map((q) => [JSON.stringify(q.provenance), q.provenance]));
    for (const p of qa.values()) add('qa', p);
    add('rationale', segment.rationale?.provenance);
    add('judge', segment.judge?.provenance);
  }
  const fields = ['visual clues', 'acoustic clues', 'description', 'labels', 'crosscheck labels', 'qa', 'rationale', 'judge'];
  return [...counts.values()].sort(
    (a, b) => fields.indexOf(a.field) - fields.indexOf(b.field) || byText(a.teacher, b.teacher) || byText(a.model, b.model) || byText(a.template, b.template),
  );
}

/** Round-robin over primary emotions (alphabetical), each in segment-id order. */
function gallery(kept: readonly KeptSegment[]): KeptSegment[] {
  const byLabel = new Map<string, KeptSegment[]>();
  for (const k of kept) {
    const label = k.segment.labels?.primary ?? '';
    const queue = byLabel.get(label);
    if (queue) queue.push(k);
    else byLabel.set(label, [k]);
  }
  const queues = [...byLabel.keys()].sort(byText).map((l) => byLabel.get(l)!);
  const chosen: KeptSegment[] = [];
  for (let round = 0; chosen.length < GALLERY_SIZE && queues.some((q) => q.length > round); round++) {
    for (const q of queues) if (q[round] && chosen.length < GALLERY_SIZE) chosen.push(q[round]);
  }
  return chosen;
}

function rejectedExamples(drops: readonly Drop[], stageOrder: readonly string[]): AuditDigest['rejected'] {
  const groups = new Map<string, Drop[]>();
  for (const d of drops) {
    const key = JSON.stringify([d.stage, d.reason]);
    const group = groups.get(key);
    if (group) group.push(d);
    else groups.set(key, [d]);
  }
  const position = (stage: string) => (stageOrder.includes(stage) ? stageOrder.indexOf(stage) : stageOrder.length);
  return [...groups.entries()]
    .map(([key, list]) => {
      const [stage, reason] = JSON.parse(key) as [string, string];
      const examples = [...list].sort((a, b) => byText(a.id, b.id)).slice(0, REJECTED_EXAMPLES);
      return { stage, reason, total: list.length, examples };
    })
    .sort((a, b) => position(a.stage) - position(b.stage) || byText(a.stage, b.stage) || byText(a.reason, b.reason));
}
