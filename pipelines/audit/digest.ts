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
import type { WeightedValues } from './svg.ts';
import { IdColumn, IdIndex } from '../sorted-ids.ts';
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
  readonly values: NumberValues;
  /** every segment that had the score, dropped ones included, when drops record it */
  readonly before?: NumberValues;
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
  readonly input: AuditRun;
  readonly funnel: readonly FunnelStep[];
  readonly dropReasons: readonly { readonly stage: string; readonly reason: string; readonly count: number }[];
  /** primary emotions of every segment that got labels (before) and of the kept ones (after) */
  readonly labels: readonly { readonly label: string; readonly before: number; readonly after: number }[];
  readonly durations: { readonly before: NumberValues; readonly after: NumberValues };
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
/** Kept clip names shown per conflict tag. */
const CONFLICT_EXAMPLES = 8;

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What the digest says of a run besides its kept segments and rows (those arrive one at a time: DigestBuilder). */
export type AuditRun = Omit<AuditInput, 'segments' | 'rows'>;

/** The digest of a run held whole: its kept segments and rows handed over at once (tests, small runs). */
export function buildDigest(input: AuditInput): AuditDigest {
  const rowsBySegment = new Map<string, { split: string; rows: number }>();
  for (const row of input.rows) {
    const entry = rowsBySegment.get(row.segment_id) ?? { split: row.split, rows: 0 };
    entry.rows++;
    rowsBySegment.set(row.segment_id, entry);
  }
  const builder = new DigestBuilder({ keepRows: input.previous.kind === 'run' });
  builder.addRows(input.rows);
  for (const segment of input.segments) {
    const entry = rowsBySegment.get(segment.id);
    if (entry) builder.addKept(segment, entry.split, entry.rows);
  }
  const { segments: _segments, rows: _rows, ...run } = input;
  return builder.digest(run);
}

/**
 * A histogram series' values: each value (`[...values]`, ascending when counted) and each distinct
 * value with its count (what the report bins, without a list of a million numbers).
 */
export type NumberValues = WeightedValues & Iterable<number>;

/**
 * Values of a histogram series, compact: a million segments give a million numbers per series, but
 * most series take few distinct values (judge scores, rounded valence and confidences), so values
 * are counted while there are at most COUNTED_VALUES distinct ones and packed in a Float64Array
 * past that. Readers bin the values, so their order does not matter: counted values come out in
 * ascending order (-0 as 0), whatever order they arrived in.
 */
class NumberColumn implements NumberValues {
  private counts: Map<number, number> | undefined = new Map();
  private values = new Float64Array(0);
  length = 0;

  push(value: number): void {
    const counts = this.counts;
    if (counts && (counts.size < COUNTED_VALUES || counts.has(value))) {
      counts.set(value, (counts.get(value) ?? 0) + 1);
      this.length++;
      return;
    }
    if (counts) {
      // Past the distinct values a map is worth: every value so far goes into the array.
      this.values = new Float64Array(Math.max(1024, 2 * this.length));
      this.length = 0;
      this.counts = undefined;
      for (const [v, n] of [...counts].sort((a, b) => a[0] - b[0])) for (let i = 0; i < n; i++) this.append(v);
    }
    this.append(value);
  }

  /** These values and `more` (a new column; this one is unchanged). */
  with(more: Iterable<number>): NumberColumn {
    const column = new NumberColumn();
    if (this.counts) column.counts = new Map(this.counts);
    else column.values = this.values.slice(0, Math.max(1024, this.length));
    column.length = this.length;
    for (const value of more) column.push(value);
    return column;
  }

  forEachValue(visit: (value: number, count: number) => void): void {
    if (!this.counts) {
      for (let i = 0; i < this.length; i++) visit(this.values[i], 1);
      return;
    }
    for (const [v, n] of [...this.counts].sort((a, b) => a[0] - b[0])) visit(v, n);
  }

  *[Symbol.iterator](): Iterator<number> {
    if (!this.counts) {
      for (let i = 0; i < this.length; i++) yield this.values[i];
      return;
    }
    for (const [v, n] of [...this.counts].sort((a, b) => a[0] - b[0])) for (let i = 0; i < n; i++) yield v;
  }

  private append(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(Math.max(1024, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
}

/** Distinct values a NumberColumn counts before it packs them. */
const COUNTED_VALUES = 4096;

/**
 * Each clip's licence as its segment with the largest id gives it, for a hundred thousand clips and
 * more: the clip ids in an IdIndex (packed, in a table of slots), the winning segment id of each
 * packed in an IdColumn, and the licence as an index into the few distinct ones.
 */
class ClipLicences {
  private readonly clips = new IdIndex();
  private readonly winners = new IdColumn();
  private readonly licenceOf: number[] = [];
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();

  offer(clipId: string, segmentId: string, licence: string): void {
    let name = this.nameIndex.get(licence);
    if (name === undefined) {
      name = this.names.length;
      this.names.push(licence);
      this.nameIndex.set(licence, name);
    }
    const { index, added } = this.clips.add(clipId);
    if (added) {
      this.licenceOf.push(name);
      this.winners.push(segmentId);
    } else if (this.winners.at(index) < segmentId) {
      this.licenceOf[index] = name;
      this.winners.set(index, segmentId);
    }
  }

  /** Clips per licence. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const name of this.licenceOf) counts.set(this.names[name], (counts.get(this.names[name]) ?? 0) + 1);
    return counts;
  }
}

/** The `limit` entries with the smallest ids seen so far, in id order. */
class SmallestIds<T extends { readonly id: string }> {
  readonly entries: T[] = [];
  constructor(private readonly limit: number) {}

  offer(entry: T): void {
    const list = this.entries;
    if (list.length === this.limit && !(entry.id < list[list.length - 1].id)) return;
    let at = list.length;
    while (at > 0 && entry.id < list[at - 1].id) at--;
    list.splice(at, 0, entry);
    if (list.length > this.limit) list.pop();
  }
}

const VOTER_SERIES = VOTERS.map((voter) => `${voter} confidence`);

/**
 * The audit digest built as the write stage streams the corpus: each kept segment is added once (in
 * any order) and only what the report shows is kept of it (counts, histogram values, the first few
 * segments by id per label and per conflict tag, review states), so memory grows by a few numbers
 * per segment, not by the segment. `digest` gives what buildDigest gives for the same segments.
 */
export class DigestBuilder {
  private keptCount = 0;
  private rowCount = 0;
  private readonly tasks = new Map<string, number>();
  private readonly rows: AuditRow[] = [];
  private readonly labels = new Map<string, number>();
  private readonly conflicts = new Map<string, number>();
  private readonly conflictExamples = new Map<string, SmallestIds<{ id: string; name: string }>>();
  private readonly clipLicences = new ClipLicences();
  private readonly languages = new Map<string, number>();
  private readonly durations = new NumberColumn();
  private readonly series = new Map<string, NumberColumn>();
  private readonly agreement = { segments: 0, both: MODALITIES.map(() => MODALITIES.map(() => 0)), agree: MODALITIES.map(() => MODALITIES.map(() => 0)) };
  private readonly provenance = new Map<string, Provenance>();
  private readonly galleryQueues = new Map<string, SmallestIds<KeptSegment & { id: string }>>();
  private readonly reviewed: Segment[] = [];

  /** @param options.keepRows keep each row's id, segment, name, label and split (the diff against a previous run needs them) */
  constructor(private readonly options: { readonly keepRows: boolean }) {}

  /** Rows written (carried ones included), in any order. */
  addRows(rows: readonly AuditRow[]): void {
    for (const row of rows) {
      this.rowCount++;
      this.tasks.set(row.task, (this.tasks.get(row.task) ?? 0) + 1);
      if (this.options.keepRows)
        this.rows.push({ id: row.id, segment_id: row.segment_id, name: row.name, primary_emotion: row.primary_emotion, split: row.split, task: row.task });
    }
  }

  /** A segment that reached the write stage and got `rows` rows in `split`; each once, in any order. */
  addKept(segment: Segment, split: string, rows: number): void {
    this.keptCount++;
    const primary = segment.labels?.primary;
    if (primary !== undefined && primary !== null) this.labels.set(primary, (this.labels.get(primary) ?? 0) + 1);
    const tag = segment.cues?.agreement?.tag;
    if (tag !== undefined && tag !== null) {
      this.conflicts.set(tag, (this.conflicts.get(tag) ?? 0) + 1);
      let examples = this.conflictExamples.get(tag);
      if (!examples) this.conflictExamples.set(tag, (examples = new SmallestIds(CONFLICT_EXAMPLES)));
      examples.offer({ id: segment.id, name: segment.clip.name });
    }
    // A clip's licence as its segment with the largest id gives it (buildDigest's order).
    this.clipLicences.offer(segment.clipId, segment.id, segment.clip.manifest.licence?.trim() || '(none given)');
    const language = segment.transcript?.language ?? 'und';
    this.languages.set(language, (this.languages.get(language) ?? 0) + 1);
    this.durations.push(segment.end - segment.start);
    const score = (name: string, value: number | null | undefined) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      let column = this.series.get(name);
      if (!column) this.series.set(name, (column = new NumberColumn()));
      column.push(value);
    };
    score('judge score', segment.judge?.score);
    score('valence', segment.labels?.valence);
    score('arousal', segment.labels?.arousal);
    VOTERS.forEach((voter, i) => score(VOTER_SERIES[i], segment.cues?.agreement?.[voter]?.confidence));
    score('face ratio', segment.cues?.visual?.faceRatio);
    const agreement = segment.cues?.agreement;
    if (agreement) addAgreement(this.agreement, agreement);
    this.addProvenance(segment);
    const label = segment.labels?.primary ?? '';
    let queue = this.galleryQueues.get(label);
    if (!queue) this.galleryQueues.set(label, (queue = new SmallestIds(GALLERY_SIZE)));
    queue.offer({ id: segment.id, segment, split, rows });
    if (segment.review) this.reviewed.push(segment);
  }

  private addProvenance(segment: Segment): void {
    const add = (field: string, p: { teacher: string; model: string; template: string } | undefined) => {
      if (!p) return;
      const key = JSON.stringify([field, p.teacher, p.model, p.template]);
      const entry = this.provenance.get(key);
      this.provenance.set(key, { field, teacher: p.teacher, model: p.model, template: p.template, segments: (entry?.segments ?? 0) + 1 });
    };
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

  /** The digest of everything added, with the rest of the run. */
  digest(input: AuditRun): AuditDigest {
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

    const labelsBefore = new Map(this.labels);
    for (const d of dropped) addCount(labelsBefore, d.segment!.primaryEmotion);
    const labels = orderedLabels([...labelsBefore.keys()]).map((label) => ({
      label,
      before: labelsBefore.get(label) ?? 0,
      after: this.labels.get(label) ?? 0,
    }));

    const conflictsBefore = new Map(this.conflicts);
    for (const d of dropped) addCount(conflictsBefore, d.segment!.conflict);
    const conflicts = [...conflictsBefore.keys()].sort(byText).map((tag) => ({
      tag,
      before: conflictsBefore.get(tag) ?? 0,
      after: this.conflicts.get(tag) ?? 0,
      examples: (this.conflictExamples.get(tag)?.entries ?? []).map((e) => e.name),
    }));

    const teachers = Object.entries(input.teacherUsage)
      .flatMap(([role, byTeacher]) => Object.entries(byTeacher).map(([teacher, usage]) => ({ role, teacher, usage })))
      .filter((t) => t.usage.calls + t.usage.cacheHits + t.usage.answers + t.usage.failures > 0)
      .sort((a, b) => byText(a.role, b.role) || byText(a.teacher, b.teacher));

    const licences = [...this.clipLicences.counts()].sort((a, b) => b[1] - a[1] || byText(a[0], b[0])).map(([licence, clips]) => ({ licence, clips }));
    const languages = [...this.languages].sort((a, b) => b[1] - a[1] || byText(a[0], b[0])).map(([language, segments]) => ({ language, segments }));

    const after = this.durations;
    const before = after.with(dropped.map((d) => d.segment!.end - d.segment!.start));
    const values = (name: string) => this.series.get(name) ?? new NumberColumn();
    const numbers = (list: readonly (number | null | undefined)[]) => list.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const unit = { domain: [0, 1], bins: 10, digits: 1 } as const;
    const signed = { domain: [-1, 1], bins: 10, digits: 1 } as const;
    const judged = values('judge score');
    const scores: ScoreSeries[] = [
      // One bin per score; before = kept plus the judged segments that were dropped (judge-below-threshold and later drops).
      { name: 'judge score', domain: [1, 11], bins: 10, digits: 0, values: judged, before: judged.with(numbers(dropped.map((d) => d.segment!.judgeScore))) },
      { name: 'valence', ...signed, values: values('valence') },
      { name: 'arousal', ...signed, values: values('arousal') },
      ...VOTER_SERIES.map((name) => ({ name, ...unit, values: values(name) })),
      { name: 'face ratio', ...unit, values: values('face ratio') },
    ];

    const fields = ['visual clues', 'acoustic clues', 'description', 'labels', 'crosscheck labels', 'qa', 'rationale', 'judge'];
    const provenance = [...this.provenance.values()].sort(
      (a, b) => fields.indexOf(a.field) - fields.indexOf(b.field) || byText(a.teacher, b.teacher) || byText(a.model, b.model) || byText(a.template, b.template),
    );
    const current = this.rows.map((r) => ({ id: r.id, segmentId: r.segment_id, name: r.name, primary: r.primary_emotion, split: r.split }));
    return {
      input,
      funnel,
      dropReasons,
      labels,
      durations: { before, after },
      scores: scores.filter((s) => s.values.length > 0 || (s.before?.length ?? 0) > 0),
      agreement: this.agreement,
      conflicts,
      teachers,
      provenance,
      tasks: [...this.tasks].sort((a, b) => byText(a[0], b[0])).map(([task, rows]) => ({ task, rows })),
      licences,
      languages,
      gallery: gallery(this.galleryQueues),
      rejected: rejectedExamples(input.drops, stageOrder),
      changes: input.previous.kind === 'run' ? diffRuns(input.previous, current) : undefined,
      review: reviewDigest(
        [...this.reviewed].sort((a, b) => byText(a.id, b.id)),
        input.drops,
        input.stats,
        input.reviewedShards ?? [],
      ),
      totals: {
        rows: this.rowCount,
        segments: this.keptCount,
        rejected: input.drops.length,
        bytes: input.shards.reduce((n, s) => n + s.bytes, 0),
        usd: teachers.reduce((n, t) => n + t.usage.usd, 0),
      },
    };
  }
}

/** Store keys of the keyframes the report shows (gallery and rejected examples). */
export function thumbnailKeys(digest: AuditDigest): string[] {
  const keys = [...digest.gallery.map((k) => k.segment.frames?.[0]?.key), ...digest.rejected.flatMap((r) => r.examples.map((d) => d.segment?.frame))];
  return [...new Set(keys.filter((k): k is string => typeof k === 'string'))].sort(byText);
}

/** The fixed emotions first, in their usual order, then any other label alphabetically. */
function orderedLabels(labels: readonly string[]): string[] {
  const known = EMOTIONS.filter((e) => labels.includes(e));
  const other = labels.filter((l) => !(EMOTIONS as readonly string[]).includes(l)).sort(byText);
  return [...known, ...other];
}

/** Round-robin over primary emotions (alphabetical), each in segment-id order. */
function gallery(byLabel: ReadonlyMap<string, SmallestIds<KeptSegment & { id: string }>>): KeptSegment[] {
  const queues = [...byLabel.keys()].sort(byText).map((l) => byLabel.get(l)!.entries.map(({ segment, split, rows }) => ({ segment, split, rows })));
  const chosen: KeptSegment[] = [];
  for (let round = 0; chosen.length < GALLERY_SIZE && queues.some((q) => q.length > round); round++) {
    for (const q of queues) if (q[round] && chosen.length < GALLERY_SIZE) chosen.push(q[round]);
  }
  return chosen;
}

function addAgreement(matrix: { segments: number; both: number[][]; agree: number[][] }, a: AgreementCues): void {
  const emotionOf = (m: Modality) => (m === 'reference' ? a.reference.emotion : (a[m]?.emotion ?? null));
  matrix.segments++;
  MODALITIES.forEach((mi, i) =>
    MODALITIES.forEach((mj, j) => {
      const x = emotionOf(mi);
      const y = emotionOf(mj);
      if (x === null || y === null) return;
      matrix.both[i][j]++;
      if (x === y) matrix.agree[i][j]++;
    }),
  );
}

function addCount(counts: Map<string, number>, value: string | null | undefined): void {
  if (value !== null && value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
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
