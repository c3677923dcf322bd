// Grounding: every claim a rationale step makes about the clip must be backed by the record. A
// number must be within tolerance of a stored value of its unit (Hz against the pitch measures, %
// against ratios, …); a quotation must be words of the transcript; a facial expression must be one
// the face cues support; the verdict ("predicted emotion is X") must name the rationale's emotion.
// A step that makes no such claim is allowed (it weighs earlier steps) unless `uncited: ungrounded`.
import { z } from 'zod';
import type { Emotion } from '../../schemas/emotion.ts';
import type { Segment } from '../../schemas/records.ts';
import type { EmotionVocabulary } from '../../pipelines/affect/emotion-words.ts';
import { citableCueValues, type CitableUnit } from '../cues/cues.ts';
import { containsWords, quotedSpans, stripStepPrefix, withoutQuotes } from './generated-text.ts';

/** A regular expression given as text; the config is refused when it does not compile. */
export const PatternSource = z
  .string()
  .min(1)
  .refine(
    (source) => {
      try {
        new RegExp(source, 'iu');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  );

/** Steps that weigh or conclude rather than cite: no citation is needed for them. */
export const DEFAULT_CONCLUSION_PATTERNS: readonly string[] = [
  String.raw`\bpredicted emotion is\b`,
  String.raw`\b(?:combined|overall|taken together|altogether|in summary|on balance|weigh(?:s|ing|ed)?)\b`,
  String.raw`^no\b.*\bcues?\b`,
];

export const GroundingConfig = z
  .object({
    /** drop (ungrounded-rationale), flag (keep, counted as flagged in stats.json), or off. Default drop. */
    mode: z.enum(['drop', 'flag', 'off']).default('drop'),
    /** A cited number matches a stored value within this relative tolerance, or its own rounding. Default 0.05. */
    numberTolerance: z.number().min(0).max(1).default(0.05),
    /** A facial expression is supported when it is the dominant one or its mean probability reaches this. Default 0.2. */
    minExpressionProbability: z.number().min(0).max(1).default(0.2),
    /** A step citing nothing: allow it (default), or count it as ungrounded unless it matches a conclusion pattern. */
    uncited: z.enum(['allow', 'ungrounded']).default('allow'),
    /** Patterns (case-insensitive) of steps that conclude rather than cite, for `uncited: ungrounded`. */
    conclusionPatterns: z.array(PatternSource).default([...DEFAULT_CONCLUSION_PATTERNS]),
  })
  .strict();
export type GroundingConfig = z.infer<typeof GroundingConfig>;

export interface GroundingIssue {
  /** 1-based step number */
  readonly step: number;
  readonly why: string;
}

// ---------------------------------------------------------------------------------------------
// Numbers.

/** The units a sentence cites a number in: those cues declare (a ratio aside), and percent. */
type Unit = Exclude<CitableUnit, 'ratio'> | 'percent';

const UNITS: readonly (readonly [RegExp, Unit, number])[] = [
  [/^\s*hz\s*(?:\/\s*s\b|per\s+second\b)/i, 'hz/s', 1],
  [/^\s*khz\b/i, 'hz', 1000],
  [/^\s*hz\b/i, 'hz', 1],
  [/^\s*dbfs\b/i, 'db', 1],
  [/^\s*db\b/i, 'db', 1],
  [/^\s*lufs\b/i, 'lufs', 1],
  [/^\s*lu\b/i, 'lufs', 1],
  [/^\s*(?:%|percent\b)/i, 'percent', 1],
  [/^\s*(?:words|syllables)\s*(?:\/\s*s(?:ec(?:ond)?)?\b|per\s+second\b)/i, 'rate', 1],
  [/^\s*wps\b/i, 'rate', 1],
  [/^\s*ms\b/i, 'seconds', 0.001],
  [/^\s*(?:s|secs?|seconds?)(?![\p{L}])/iu, 'seconds', 1],
  [/^\s*semitones?\b/i, 'semitones', 1],
];

interface CitedNumber {
  readonly text: string;
  readonly value: number;
  readonly decimals: number;
  readonly unit: Unit;
}

/** Digits not glued to a letter ("F0") or a decimal point; a sign counts after a space or bracket only. */
const NUMBER = /(?<![\p{L}\p{N}.])(\d+(?:\.\d+)?)/gu;
const RANGE_JOIN = /^\s*(?:–|—|-|to|and)\s*$/i;

/** Ordinals ("2nd") and references to other steps ("as step 2 showed") are not measurements. */
const ORDINAL_SUFFIX = /^(?:st|nd|rd|th)\b/i;
const STEP_REFERENCE = /\bsteps?\s*$/i;

function citedNumbers(text: string): CitedNumber[] {
  const numbers = [...text.matchAll(NUMBER)].filter(
    (m) => !ORDINAL_SUFFIX.test(text.slice(m.index! + m[0].length)) && !STEP_REFERENCE.test(text.slice(0, m.index!)),
  );
  const found = numbers.map((m) => {
    const start = m.index!;
    const negative = /(?:^|[\s([])[-−]$/.test(text.slice(Math.max(0, start - 2), start));
    const after = text.slice(start + m[0].length);
    const unit = UNITS.find(([pattern]) => pattern.test(after));
    const raw = Number(m[1]) * (unit ? unit[2] : 1);
    return {
      start,
      end: start + m[0].length,
      text: `${negative ? '-' : ''}${m[1]}${unit ? after.match(unit[0])![0] : ''}`,
      value: negative ? -raw : raw,
      decimals: (m[1].split('.')[1] ?? '').length + (unit && unit[2] !== 1 ? Math.round(Math.log10(1 / unit[2])) : 0),
      unit: unit ? unit[1] : ('none' as Unit),
    };
  });
  // "77–127 Hz", "between 100 and 200 Hz": the first number of a range takes the second's unit.
  for (let i = found.length - 2; i >= 0; i--) {
    const [a, b] = [found[i], found[i + 1]];
    if (a.unit === 'none' && b.unit !== 'none' && RANGE_JOIN.test(text.slice(a.end, b.start))) found[i] = { ...a, unit: b.unit };
  }
  return found.map(({ text: t, value, decimals, unit }) => ({ text: t, value, decimals, unit }));
}

/** Every value the record stores (each cue's citable values, the labels, the times), by the unit a sentence would cite it in. */
function storedValues(segment: Segment): Record<Unit, number[]> {
  const pool: Record<Unit, number[]> = { hz: [], 'hz/s': [], db: [], lufs: [], percent: [], rate: [], seconds: [], semitones: [], none: [] };
  const add = (unit: Unit, ...values: (number | null | undefined)[]) => {
    for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) pool[unit].push(v);
  };
  for (const { unit, values } of citableCueValues(segment)) {
    // A ratio may be cited as itself or as a percentage.
    if (unit === 'ratio') {
      add('none', ...values);
      add('percent', ...values.map((v) => (typeof v === 'number' ? v * 100 : v)));
    } else add(unit, ...values);
  }
  if (segment.labels) add('none', segment.labels.valence, segment.labels.arousal);
  add('seconds', segment.end - segment.start, segment.start, segment.end, ...(segment.transcript?.words ?? []).flatMap((w) => [w.start, w.end]));
  if (segment.transcript?.text.trim()) add('none', segment.transcript.text.trim().split(/\s+/).length);
  // A bare number may be any stored value, in any unit.
  for (const unit of Object.keys(pool) as Unit[]) if (unit !== 'none') pool.none.push(...pool[unit]);
  return pool;
}

function matches(cited: CitedNumber, stored: number, tolerance: number): boolean {
  const rounding = 0.5 * 10 ** -cited.decimals + 1e-9;
  return Math.abs(cited.value - stored) <= Math.max(rounding, tolerance * Math.abs(stored));
}

// ---------------------------------------------------------------------------------------------
// Facial expressions.

const FACE_TERM = /\b(?:face|faces|facial|expressions?|smil\w*|frown\w*|scowl\w*|brows?|eyebrows?)\b/i;
/** Face words that name an expression by themselves. */
const FACE_WORDS: readonly (readonly [RegExp, readonly Emotion[]])[] = [
  [/\bsmil\w*/i, ['happy']],
  [/\bscowl\w*/i, ['angry']],
  [/\bfrown\w*/i, ['sad', 'angry']],
];
const NEGATION = /\b(?:no|not|never|without|neither|nor|lacks?|absent)\b|n't\b/i;
const CLAUSE_BREAK = /[;!?]|[.,](?=\s|$)|\b(?:but|while|whereas|although|though)\b/i;

/** The expressions a clause attributes to the face: each is a set of emotions, any one of which would do. */
function expressionClaims(clause: string, vocabulary: EmotionVocabulary): (readonly Emotion[])[] {
  if (!FACE_TERM.test(clause) || NEGATION.test(clause)) return [];
  const claims: (readonly Emotion[])[] = vocabulary.emotionsIn(clause).map((e) => [e]);
  for (const [pattern, emotions] of FACE_WORDS) if (pattern.test(clause)) claims.push(emotions);
  return claims;
}

function faceSupports(segment: Segment, emotion: Emotion, minProbability: number): boolean {
  const visual = segment.cues?.visual;
  if (!visual?.meanExpressions) return false;
  return visual.dominant === emotion || (visual.meanExpressions[emotion] ?? 0) >= minProbability;
}

// ---------------------------------------------------------------------------------------------

/** The ungrounded steps of a segment's rationale (empty when every claim is backed). */
export function groundRationale(segment: Segment, config: GroundingConfig, vocabulary: EmotionVocabulary): GroundingIssue[] {
  const rationale = segment.rationale;
  if (!rationale) return [];
  const transcript = segment.transcript?.text ?? '';
  const pool = storedValues(segment);
  const conclusions = config.conclusionPatterns.map((p) => new RegExp(p, 'iu'));
  const issues: GroundingIssue[] = [];
  rationale.steps.forEach((step, i) => {
    const body = stripStepPrefix(step);
    const own = withoutQuotes(body);
    const why: string[] = [];
    let cited = false;

    const verdict = /\bpredicted emotion is\s+([\p{L}]+)/iu.exec(own);
    if (verdict) {
      cited = true;
      const named = vocabulary.emotionOf(verdict[1]);
      if (named !== rationale.emotion) why.push(`the verdict names '${verdict[1]}' but rationale.emotion is ${rationale.emotion}`);
    }

    for (const quote of quotedSpans(body)) {
      cited = true;
      if (!containsWords(transcript, quote)) why.push(`quotes '${quote}', which the transcript does not contain`);
    }

    for (const number of citedNumbers(own)) {
      cited = true;
      const candidates = pool[number.unit];
      if (!candidates.some((v) => matches(number, v, config.numberTolerance))) {
        const unit = number.unit === 'none' ? 'any unit' : number.unit;
        why.push(`states ${number.text.trim()}, but no stored value (${unit}) is within ${Math.round(config.numberTolerance * 100)}%`);
      }
    }

    for (const clause of own.split(CLAUSE_BREAK)) {
      for (const claim of expressionClaims(clause, vocabulary)) {
        cited = true;
        if (!claim.some((e) => faceSupports(segment, e, config.minExpressionProbability))) {
          const visual = segment.cues?.visual;
          const seen = visual?.meanExpressions ? `the face cues read ${visual.dominant ?? 'nothing'}` : 'no face was measured';
          why.push(`attributes ${claim.join('/')} to the face, but ${seen}`);
        }
      }
    }

    if (!cited && config.uncited === 'ungrounded' && !conclusions.some((p) => p.test(body))) why.push('cites no cue of the record');
    for (const reason of why) issues.push({ step: i + 1, why: reason });
  });
  return issues;
}
