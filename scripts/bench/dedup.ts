// Near-duplicate benchmark: MinHash + LSH (pipelines/quality/minhash.ts, the code the dedup stage
// runs) over N synthetic emotion descriptions with planted duplicates. A seeded generator writes
// base descriptions (face, voice, quoted speech, inference; phrasing drawn from pools, numbers
// and quoted words random), then plants near copies of base descriptions (1–3 word edits:
// substitute, insert or delete) and exact copies (case and spacing changed). Recall and precision
// are measured against the planted groups; the exact Jaccard of every planted pair is computed so
// recall can also be read over the pairs that really are above the threshold. Drops that join two
// different base descriptions are checked with exact Jaccard: above the threshold they are real
// accidental near-duplicates of the generator, below it false positives.
//
// `--style rules` writes rules-teacher-like text instead (one fixed template, cue numbers
// varying): what the offline teacher produces, where distinct records share most shingles.
//
//   npx tsx scripts/bench/dedup.ts [--docs 200000] [--near 0.1] [--exact 0.01] [--style llm|rules]
//                                  [--permutations 128] [--bands 16] [--shingle 3] [--threshold 0.8]
import { parseArgs } from 'node:util';
import { exactJaccard, findDuplicates, validateMinHashOptions, type DedupDocument, type MinHashOptions } from '../../pipelines/quality/minhash.ts';
import { mulberry32 } from '../../pipelines/random.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '200000' },
    near: { type: 'string', default: '0.1' },
    exact: { type: 'string', default: '0.01' },
    style: { type: 'string', default: 'llm' },
    permutations: { type: 'string', default: '128' },
    bands: { type: 'string', default: '16' },
    shingle: { type: 'string', default: '3' },
    threshold: { type: 'string', default: '0.8' },
    seed: { type: 'string', default: '20251' },
  },
});
const docs = Number(args.docs);
const nearRate = Number(args.near);
const exactRate = Number(args.exact);
const style = args.style;
const options: MinHashOptions = {
  permutations: Number(args.permutations),
  bands: Number(args.bands),
  shingle: Number(args.shingle),
  threshold: Number(args.threshold),
};
if (!Number.isSafeInteger(docs) || docs < 10) throw new RangeError(`--docs must be an integer ≥ 10, got ${args.docs}`);
if (!(nearRate >= 0 && exactRate >= 0 && nearRate + exactRate < 1))
  throw new RangeError(`--near and --exact must be ≥ 0 with a sum below 1, got ${args.near} and ${args.exact}`);
if (style !== 'llm' && style !== 'rules') throw new RangeError(`--style must be llm or rules, got ${style}`);
validateMinHashOptions(options);

// ---------------------------------------------------------------- deterministic descriptions

const random = mulberry32(Number(args.seed));
const pick = <T>(pool: readonly T[]): T => pool[Math.floor(random() * pool.length)];
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));

const SUBJECTS = [
  'the speaker',
  'the woman',
  'the man',
  'the person',
  'the young man',
  'the older woman',
  'the presenter',
  'the interviewee',
  'the girl',
  'the boy',
  'the host',
  'the caller',
  'the actor',
  'the customer',
  'the teacher',
  'the student',
];
const FACE_VERBS = ['shows', 'wears', 'has', 'displays', 'keeps', 'breaks into', 'settles into', 'briefly flashes', 'holds', 'gives'];
const INTENSITY = [
  'a slight',
  'a clear',
  'a broad',
  'a faint',
  'a strained',
  'an open',
  'a tight',
  'a warm',
  'a fleeting',
  'a pronounced',
  'a subtle',
  'a forced',
];
const EXPRESSIONS = [
  'smile',
  'frown',
  'grimace',
  'scowl',
  'pout',
  'look of surprise',
  'wide-eyed stare',
  'downcast gaze',
  'sneer',
  'grin',
  'blank expression',
  'furrowed brow',
  'clenched jaw',
  'trembling lip',
  'raised eyebrow',
  'half smile',
  'wince',
  'glare',
];
const FACE_DETAILS = [
  'with raised eyebrows',
  'with tightly pressed lips',
  'while avoiding eye contact',
  'and leans forward',
  'and shakes their head',
  'with reddened eyes',
  'and nods repeatedly',
  'with a lowered chin',
  'while glancing sideways',
  'and crosses their arms',
  'with flared nostrils',
  'and blinks rapidly',
  'with the mouth slightly open',
  'and tilts the head',
  'while looking straight at the camera',
  'with shoulders slumped',
];
const PITCH = [
  'high',
  'low',
  'steady',
  'wavering',
  'rising',
  'falling',
  'flat',
  'strained',
  'bright',
  'husky',
  'soft',
  'sharp',
  'breathy',
  'tense',
  'warm',
  'shaky',
];
const PACE = ['quick', 'slow', 'hesitant', 'measured', 'hurried', 'halting', 'even', 'rushed', 'deliberate', 'clipped'];
const VOICE_FEATURES = [
  'long pauses between phrases',
  'a sudden rise in loudness',
  'a quiet, trailing ending',
  'clipped syllables',
  'an audible sigh',
  'a nervous laugh',
  'emphatic stress on key words',
  'a catch in the throat',
  'little variation in pitch',
  'a sharp intake of breath',
  'a drawn-out final word',
  'repeated restarts',
];
const WORDS =
  "about after again always another answer anything around back because before believe better between bring call came can't change come could daughter day did different doctor doesn't done door down each early enough ever every everything face family father feel find first friend from gave give going gone good great half hand happened hard have head hear heard help here home hope hour house idea just keep kind knew know last late leave left let life little long look lost made make maybe mean money morning mother move much name need never next night nothing now office once only other over own paper people phone place plan please problem put question ready real really remember report right room said same saw school second seen should sister sleep something soon sorry start still stop story sure take talk tell than thank that their them then there these thing think this those thought three through time today together told tomorrow tonight tried trust turn understand until upstairs wait want wanted watch water week well went what when where which while whole why will wish with without woman won't work world worry would wrong year yesterday young".split(
    ' ',
  );
const EMOTIONS = [
  'happy',
  'joyful',
  'content',
  'amused',
  'excited',
  'relieved',
  'sad',
  'disappointed',
  'hurt',
  'lonely',
  'angry',
  'irritated',
  'frustrated',
  'resentful',
  'afraid',
  'anxious',
  'nervous',
  'surprised',
  'shocked',
  'disgusted',
  'embarrassed',
  'calm',
  'neutral',
  'confused',
  'proud',
  'guilty',
];
const CONNECTORS = [
  'Taken together,',
  'Overall,',
  'Combining these cues,',
  'On balance,',
  'All things considered,',
  'From the face, voice and words,',
  'Putting it together,',
  'In sum,',
];
const VERDICTS = ['most likely feels', 'appears to be', 'seems', 'is probably', 'sounds and looks', 'comes across as', 'is best described as'];
const REASONS = [
  'even though the words are polite',
  'despite trying to hide it',
  'which the tone makes plain',
  'as the face and voice agree',
  'although the words alone are neutral',
  'mostly from the voice',
  'mostly from the face',
  'with some uncertainty',
  'and the feeling grows over the clip',
  'but only briefly',
];

function quote(): string {
  const words = Array.from({ length: between(5, 14) }, () => pick(WORDS));
  return words.join(' ');
}

function llmDescription(): string {
  const subject = pick(SUBJECTS);
  const face = `${cap(subject)} ${pick(FACE_VERBS)} ${pick(INTENSITY)} ${pick(EXPRESSIONS)} ${pick(FACE_DETAILS)}.`;
  const voice = `The voice is ${pick(PITCH)} and ${pick(PACE)}, around ${between(85, 320)} Hz, with ${pick(VOICE_FEATURES)}.`;
  const speech = `${cap(subject)} says "${quote()}" and later "${quote()}".`;
  const inference = `${pick(CONNECTORS)} ${subject} ${pick(VERDICTS)} ${pick(EMOTIONS)}, ${pick(REASONS)}.`;
  return random() < 0.5 ? `${face} ${voice} ${speech} ${inference}` : `${speech} ${face} ${voice} ${inference}`;
}

const RULE_EMOTIONS = ['happy', 'sad', 'angry', 'neutral', 'surprised', 'fearful', 'disgusted'];
const LEVELS = ['low', 'moderate', 'high'];
const RATES = ['slow', 'moderate', 'fast'];

/** The rules teacher's describe template (stages/describe.ts with rules-v3), cue values random. */
function rulesDescription(): string {
  const face = pick(RULE_EMOTIONS);
  const mean = between(90, 260);
  const words = Array.from({ length: between(2, 5) }, () => pick(WORDS));
  return (
    `The face reads as ${face} (mean probability ${(0.4 + random() * 0.6).toFixed(2)}) in ${between(1, 4)} of 4 keyframes, stable in ${between(25, 100)}% of them. ` +
    `The voice is ${pick(['lowly', 'moderately', 'highly'])} pitched (mean F0 ${mean} Hz, range ${mean - between(5, 40)}–${mean + between(5, 60)} Hz), ${pick(['monotone', 'varied', 'expressive'])}, ${pick(RATES)} (${(1 + random() * 4).toFixed(1)} words/s) and at a ${pick(LEVELS)} level (-${between(12, 40)} dBFS). ` +
    `The wording is ${pick(['emotionally neutral', 'positive', 'negative'])}, with a sentiment score of ${(random() * 2 - 1).toFixed(2)}${random() < 0.5 ? '' : ` and the words "${words.join('", "')}"`}. ` +
    `Taken together, the speaker shows ${pick(RULE_EMOTIONS)}, although the cues are ${pick(['weak', 'mixed', 'clear'])}.`
  );
}

function cap(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

/** 1–3 word edits: substitute, insert or delete a word (never leaving fewer than 5 words). */
function nearCopy(text: string): string {
  const words = text.split(' ');
  for (let edits = between(1, 3); edits > 0; edits--) {
    const at = Math.floor(random() * words.length);
    const kind = random();
    if (kind < 0.5) words[at] = pick(WORDS);
    else if (kind < 0.8 || words.length <= 5) words.splice(at, 0, pick(WORDS));
    else words.splice(at, 1);
  }
  return words.join(' ');
}

/** The same text up to case and whitespace. */
function exactCopy(text: string): string {
  return (random() < 0.5 ? text.toUpperCase() : text).replace(/ /g, () => (random() < 0.1 ? '  ' : random() < 0.05 ? '\n' : ' '));
}

/** Ids in an order unrelated to generation, so the kept copy is sometimes the planted one. */
function idOf(index: number): string {
  let h = Math.imul(index ^ 0x2545f491, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return `${(h >>> 0).toString(16).padStart(8, '0')}-${index}`;
}

const generationStarted = performance.now();
const documents: DedupDocument[] = new Array(docs);
/** planted group: the base index a document was copied from (itself for a base) */
const group = new Int32Array(docs);
const planted = new Uint8Array(docs); // 0 base, 1 near copy, 2 exact copy
const bases: number[] = [];
for (let i = 0; i < docs; i++) {
  const roll = random();
  if (bases.length > 0 && roll < nearRate + exactRate) {
    const source = pick(bases);
    const text = documents[source].texts[0];
    const exact = roll < exactRate;
    documents[i] = { id: idOf(i), texts: [exact ? exactCopy(text) : nearCopy(text)] };
    group[i] = source;
    planted[i] = exact ? 2 : 1;
  } else {
    documents[i] = { id: idOf(i), texts: [style === 'rules' ? rulesDescription() : llmDescription()] };
    group[i] = i;
    bases.push(i);
  }
}
const generationMs = performance.now() - generationStarted;
const words = documents.reduce((sum, doc) => sum + doc.texts[0].split(/\s+/).length, 0);

const started = performance.now();
const cpuStart = process.cpuUsage();
const report = findDuplicates(documents, options);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuStart);
const memory = process.memoryUsage();
const maxRssMb = process.resourceUsage().maxRSS / 1024;

// ---------------------------------------------------------------- against the planted groups

let nearPlanted = 0;
let nearPlantedAbove = 0;
let nearFound = 0;
let nearFoundAbove = 0;
/** planted near copies by exact Jaccard with their source: [0.8, 0.85), [0.85, 0.9), [0.9, 1] at threshold 0.8 */
const bins = [0, 0.05, 0.1].map((offset) => ({ low: options.threshold + offset, planted: 0, found: 0 }));
let exactPlanted = 0;
let exactFound = 0;
let dropsRight = 0;
let dropsAccidental = 0;
let dropsWrong = 0;
const wrongExamples: string[] = [];
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const jaccardOfPlanted = new Float64Array(docs).fill(-1);
for (let i = 0; i < docs; i++) {
  if (planted[i] === 1) jaccardOfPlanted[i] = exactJaccard(documents[i].texts, documents[group[i]].texts, options.shingle);
}
for (let i = 0; i < docs; i++) {
  const verdict = report.verdicts[i];
  const dropped = verdict.kind === 'exact-duplicate' || verdict.kind === 'near-duplicate';
  if (planted[i] === 1) {
    nearPlanted++;
    const above = jaccardOfPlanted[i] >= options.threshold;
    if (above) nearPlantedAbove++;
    // Found = this copy and its source ended in one cluster (either may be the kept one).
    const bin = [...bins].reverse().find((b) => jaccardOfPlanted[i] >= b.low);
    if (bin) bin.planted++;
    if (sameCluster(i, group[i])) {
      nearFound++;
      if (above) nearFoundAbove++;
      if (bin) bin.found++;
    }
  }
  if (planted[i] === 2) {
    exactPlanted++;
    if (sameCluster(i, group[i])) exactFound++;
  }
  if (!dropped) continue;
  if (group[verdict.kept] === group[i]) dropsRight++;
  else {
    const jaccard = exactJaccard(documents[i].texts, documents[verdict.kept].texts, options.shingle);
    if (jaccard >= options.threshold) dropsAccidental++;
    else {
      dropsWrong++;
      if (wrongExamples.length < 3)
        wrongExamples.push(
          `exact Jaccard ${jaccard.toFixed(2)} (estimated ${verdict.kind === 'near-duplicate' ? verdict.jaccard.toFixed(2) : '1'}${verdict.kind === 'near-duplicate' && verdict.via ? `, via ${verdict.via.jaccard.toFixed(2)}` : ''})`,
        );
    }
  }
}

function keptOf(i: number): number {
  const verdict = report.verdicts[i];
  return verdict.kind === 'exact-duplicate' || verdict.kind === 'near-duplicate' ? verdict.kept : i;
}
function sameCluster(a: number, b: number): boolean {
  return keptOf(a) === keptOf(b);
}

const drops = report.exactDuplicates + report.nearDuplicates;
const pct = (part: number, whole: number) => (whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(2)}%`);
const rows = options.permutations / options.bands;
console.log(
  `dedup bench: ${docs} ${style} descriptions (${(words / docs).toFixed(1)} words each on average), ${nearPlanted} planted near copies, ${exactPlanted} planted exact copies`,
);
console.log(
  `options: ${options.permutations} permutations, ${options.bands} bands × ${rows} rows, ${options.shingle}-word shingles, threshold ${options.threshold}`,
);
console.log(`generation:  ${(generationMs / 1000).toFixed(1)} s (not counted below)`);
console.log(
  `dedup:       ${(ms / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU (exact ${(report.timings.exactMs / 1000).toFixed(1)} s, signatures ${(report.timings.signaturesMs / 1000).toFixed(1)} s, LSH + verification ${(report.timings.lshMs / 1000).toFixed(1)} s)`,
);
console.log(
  `memory:      peak RSS ${maxRssMb.toFixed(0)} MB; at the end heap used ${mb(memory.heapUsed)} MB of ${mb(memory.heapTotal)} MB, array buffers ${mb(memory.arrayBuffers)} MB, RSS ${mb(memory.rss)} MB`,
);
console.log(
  `LSH:         ${report.candidatePairs} candidate pairs, ${report.comparedPairs} compared, ${report.similarPairs} at or above the threshold; largest bucket ${report.largestBucket}`,
);
console.log(`found:       ${report.clusters} clusters, ${report.exactDuplicates} exact and ${report.nearDuplicates} near-duplicates dropped`);
console.log(
  `recall:      near copies ${pct(nearFound, nearPlanted)} (${nearFound}/${nearPlanted}); those with exact Jaccard ≥ ${options.threshold}: ${pct(nearFoundAbove, nearPlantedAbove)} (${nearFoundAbove}/${nearPlantedAbove}); exact copies ${pct(exactFound, exactPlanted)} (${exactFound}/${exactPlanted})`,
);
console.log(
  `  by exact Jaccard: ${bins.map((b, k) => `${k === bins.length - 1 ? `≥ ${b.low.toFixed(2)}` : `[${b.low.toFixed(2)}, ${bins[k + 1].low.toFixed(2)})`} ${pct(b.found, b.planted)} of ${b.planted}`).join('; ')}`,
);
console.log(
  `precision:   ${pct(dropsRight, drops)} of ${drops} drops keep a copy of the same planted text; ${dropsAccidental} join different base texts at exact Jaccard ≥ ${options.threshold} (real duplicates the generator made), ${dropsWrong} below it (false positives)`,
);
for (const example of wrongExamples) console.log(`  false positive: ${example}`);
