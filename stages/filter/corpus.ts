// filter.corpus: the filter rules that need the whole corpus. Length tails, as MER-Caption filtered
// its descriptions: a text whose length in words lies beyond k standard deviations of the corpus
// mean on either side is dropped (length-outlier). Label caps, for balance: past a label's cap, the
// segments with the lowest hash of (seed, id) are kept and the rest dropped (label-cap), so the
// choice is deterministic and does not depend on the order records arrive in.
import { z } from 'zod';
import { CodeTable } from '../../pipelines/code-table.ts';
import { fingerprint } from '../../pipelines/fingerprint.ts';
import { drop, dropsById, runGlobalInMemory, type DropResult, type GlobalStage } from '../../pipelines/stage.ts';
import { Emotion } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import { normaliseText, wordCount } from './generated-text.ts';

const LengthField = z.enum(['description', 'answer', 'rationale']);
type LengthField = z.infer<typeof LengthField>;

const CorpusFilterConfig = z
  .object({
    lengthTails: z
      .object({
        /** Drop texts further than this many standard deviations from the mean length; 0 turns it off. Default 3. */
        sd: z.number().min(0).default(3),
        /** Which texts: description, answer (QA answers, compared within their kind: mcq, open, attribute), rationale. */
        fields: z.array(LengthField).min(1).default(['description', 'answer']),
        /** A length distribution with fewer texts than this is too small to have tails; it is left alone. Default 20. */
        minTexts: z.number().int().min(3).default(20),
      })
      .strict()
      .prefault({}),
    labelCaps: z
      .object({
        /** Keep at most this many segments of any one primary emotion. Default: no cap. */
        maxPerLabel: z.number().int().positive().optional(),
        /** Caps for single emotions, overriding maxPerLabel: { happy: 500, neutral: 300 }. */
        perLabel: z.partialRecord(Emotion, z.number().int().nonnegative()).default({}),
        /** Seed of the hash that picks which segments a cap keeps. */
        seed: z.string().default('emoforge'),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type CorpusFilterConfig = z.infer<typeof CorpusFilterConfig>;

/** One text of a segment whose length is judged, in the population it is judged against. */
interface Measured {
  /** population: "description", "rationale", "answer:mcq", … */
  readonly population: string;
  readonly field: string;
  readonly words: number;
}

/** Which texts of a segment were measured, in order: shared by every segment of the same shape. */
type TextShape = readonly Omit<Measured, 'words'>[];

/**
 * What the corpus rules read of a segment (its id comes beside the views): its primary label and the
 * word count of each text it measured. A million segments give a million views, so a view is a
 * number: where its entry starts in one growing Int32Array of the stage's run, [label code, shape
 * code, one word count per text], with the labels and text shapes (which texts, in which
 * population) coded in small tables. As objects with an array of counts, a view took ~150 bytes of
 * heap; here it is ~50 (its place in the views array and its entry, with the array's spare room).
 */
type LengthView = number;

/** The views of one run of the stage (keyed by its context, so they go with it). */
class LengthViews {
  private column = new Int32Array(1 << 16);
  private used = 0;
  private readonly labels = new CodeTable<string>();
  private readonly shapes = new CodeTable<TextShape>();

  add(label: string, texts: readonly Measured[]): LengthView {
    const view = this.used;
    const need = view + 2 + texts.length;
    if (need > this.column.length) {
      const grown = new Int32Array(Math.max(need, this.column.length * 2));
      grown.set(this.column.subarray(0, this.used));
      this.column = grown;
    }
    this.column[view] = this.labels.code(label, () => label);
    const key = texts.map((t) => `${t.population}\u0000${t.field}`).join('\u0001');
    this.column[view + 1] = this.shapes.code(key, () => texts.map(({ population, field }) => ({ population, field })));
    texts.forEach((t, i) => {
      this.column[view + 2 + i] = t.words;
    });
    this.used = need;
    return view;
  }

  label(view: LengthView): string {
    return this.labels.values[this.column[view]];
  }

  shape(view: LengthView): TextShape {
    return this.shapes.values[this.column[view + 1]];
  }

  words(view: LengthView, text: number): number {
    return this.column[view + 2 + text];
  }
}

const lengthViews = new WeakMap<object, LengthViews>();

function viewsOf(ctx: object): LengthViews {
  let views = lengthViews.get(ctx);
  if (!views) lengthViews.set(ctx, (views = new LengthViews()));
  return views;
}

function measure(segment: Segment, fields: readonly LengthField[]): Measured[] {
  const texts: Measured[] = [];
  if (fields.includes('description') && segment.description) {
    texts.push({ population: 'description', field: 'description', words: wordCount(segment.description.text) });
  }
  if (fields.includes('answer')) {
    const transcript = normaliseText(segment.transcript?.text ?? '');
    (segment.qa ?? []).forEach((item, k) => {
      // An answer that reads the transcript back is the speaker's length, not the teacher's.
      if (transcript && normaliseText(item.answer) === transcript) return;
      texts.push({ population: `answer:${item.kind}`, field: `qa[${k}].answer`, words: wordCount(item.answer) });
    });
  }
  if (fields.includes('rationale') && segment.rationale) {
    texts.push({ population: 'rationale', field: 'rationale', words: wordCount(segment.rationale.steps.join(' ')) });
  }
  return texts;
}

interface Bounds {
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
}

/** Mean and population sd, summed over sorted values so the result does not depend on input order. */
function boundsOf(values: Float64Array): Bounds {
  const sorted = Float64Array.from(values).sort();
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  const sd = Math.sqrt(sorted.reduce((sum, v) => sum + (v - mean) ** 2, 0) / sorted.length);
  return { mean, sd, n: sorted.length };
}

/** (view, text) index pairs, packed two to an entry of a growing Int32Array. */
class IndexPairs {
  private pairs = new Int32Array(2048);
  length = 0;

  push(view: number, text: number): void {
    if (2 * this.length + 2 > this.pairs.length) {
      const grown = new Int32Array(this.pairs.length * 2);
      grown.set(this.pairs);
      this.pairs = grown;
    }
    this.pairs[2 * this.length] = view;
    this.pairs[2 * this.length + 1] = text;
    this.length++;
  }

  view(m: number): number {
    return this.pairs[2 * m];
  }

  text(m: number): number {
    return this.pairs[2 * m + 1];
  }
}

export const filterCorpus: GlobalStage<CorpusFilterConfig, LengthView> = {
  kind: 'global',
  name: 'filter.corpus',
  version: 1,
  configSchema: CorpusFilterConfig,
  reads: [],
  adds: [],
  cache: false,

  project(segment, config, ctx): LengthView {
    const { sd: k, fields } = config.lengthTails;
    return viewsOf(ctx).add(segment.labels?.primary ?? 'unlabelled', k > 0 ? measure(segment, fields) : []);
  },

  async decide(views, config, ctx, ids) {
    const store = viewsOf(ctx);
    lengthViews.delete(ctx);
    // Drops by view index; a kept segment is passed on unchanged.
    const dropped = new Map<number, DropResult>();

    // 1. Length tails.
    const { sd: k, minTexts } = config.lengthTails;
    if (k > 0) {
      // Each population's texts as (view, text) index pairs, in view order: no object per text.
      const populations = new Map<string, IndexPairs>();
      views.forEach((view, i) => {
        store.shape(view).forEach((text, t) => {
          let members = populations.get(text.population);
          if (!members) populations.set(text.population, (members = new IndexPairs()));
          members.push(i, t);
        });
      });
      for (const [population, members] of [...populations].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (members.length < minTexts) {
          ctx.log.info({ population, texts: members.length, minTexts }, 'too few texts for length tails; not applied');
          continue;
        }
        const words = new Float64Array(members.length);
        for (let m = 0; m < members.length; m++) words[m] = store.words(views[members.view(m)], members.text(m));
        const bounds = boundsOf(words);
        if (bounds.sd === 0) continue;
        const [low, high] = [bounds.mean - k * bounds.sd, bounds.mean + k * bounds.sd];
        for (let m = 0; m < members.length; m++) {
          if (words[m] >= low && words[m] <= high) continue;
          const segment = members.view(m);
          if (dropped.has(segment)) continue;
          const field = store.shape(views[segment])[members.text(m)].field;
          dropped.set(
            segment,
            drop(
              'length-outlier',
              `${field} has ${words[m]} words, outside ${population} mean ${bounds.mean.toFixed(1)} ± ${k} sd ${bounds.sd.toFixed(1)} = [${low.toFixed(1)}, ${high.toFixed(1)}] over ${bounds.n} texts`,
            ),
          );
        }
      }
    }

    // 2. Label caps, over what the tails kept.
    const { maxPerLabel, perLabel, seed } = config.labelCaps;
    if (maxPerLabel !== undefined || Object.keys(perLabel).length > 0) {
      const byLabel = new Map<string, number[]>();
      views.forEach((view, i) => {
        if (dropped.has(i)) return;
        const label = store.label(view);
        const members = byLabel.get(label);
        if (members) members.push(i);
        else byLabel.set(label, [i]);
      });
      for (const [label, members] of byLabel) {
        const cap = perLabel[label as Emotion] ?? maxPerLabel;
        if (cap === undefined || members.length <= cap) continue;
        const ranked = members.map((i) => ({ i, rank: fingerprint(seed, ids.idAt(i)) })).sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
        for (const { i } of ranked.slice(cap)) {
          dropped.set(
            i,
            drop('label-cap', `${members.length} segments are labelled ${label}, cap ${cap}; kept the ${cap} with the lowest hash of (seed '${seed}', id)`),
          );
        }
        ctx.log.info({ label, segments: members.length, cap }, 'label capped');
      }
    }
    return dropsById(new Map([...dropped].map(([i, result]) => [ids.idAt(i), result])));
  },

  run(segments, config, ctx): Promise<(Segment | DropResult)[]> {
    return runGlobalInMemory(filterCorpus, segments, config, ctx);
  },
};
