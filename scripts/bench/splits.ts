// Splits bench: how long `write` takes to plan the splits of N segments, from the views the runner
// hands it (group keys and label; no pinned segments, no footage ties), shaped as the scale bench's
// corpus is: 8 segments a clip, 400 speakers per 10,000 segments, seven labels, views shared by a
// clip's segments and sorted by segment id.
//
//   npx tsx scripts/bench/splits.ts [--sizes 100000,1000000]
//
// Prints one line per N (wall and CPU milliseconds, and per 10k) and, last, the per-10k ratio of the
// largest N to the smallest: planning grows a little faster than the corpus, as lookups miss the
// cache more often once the keys outgrow it.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { assignSplitCodes, type SplitPlace } from '../../pipelines/split.ts';
import { ViewsById } from '../../pipelines/run/views-by-id.ts';
import { SPLITS } from '../../schemas/sample.ts';

const PER_CLIP = 8;
const SPEAKERS_PER_10K = 400;
const LABELS = ['happy', 'sad', 'angry', 'neutral', 'surprise', 'fear', 'disgust'];

function corpus(segments: number) {
  const clips = Math.ceil(segments / PER_CLIP);
  const speakers = Math.max(10, Math.round((segments / 10_000) * SPEAKERS_PER_10K));
  const viewed = new ViewsById<SplitPlace>();
  let n = 0;
  for (let c = 0; c < clips && n < segments; c++) {
    const clipId = createHash('sha256').update(`clip ${c}`).digest('hex');
    const view: SplitPlace = { keys: [`clip:${clipId}`, `speaker:spk${String(c % speakers).padStart(5, '0')}`], label: LABELS[c % LABELS.length] };
    for (let s = 0; s < PER_CLIP && n < segments; s++, n++) viewed.add(createHash('sha256').update(`segment ${c} ${s}`).digest('hex'), view);
  }
  return viewed.sortedWithIds();
}

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100000,1000000' } } });
const sizes = values.sizes!.split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < PER_CLIP))
  throw new RangeError(`--sizes takes comma-separated segment counts of at least ${PER_CLIP}, got ${values.sizes}`);

const perTenK: number[] = [];
for (const size of sizes) {
  const { ids, views } = corpus(size);
  const [wall, cpu] = [performance.now(), process.cpuUsage()];
  const codes = assignSplitCodes(views, (i) => ids.idAt(i), { train: 0.8, validation: 0.1, test: 0.1 }, 'bench');
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - wall;
  const cpuMs = (used.user + used.system) / 1000;
  const counts = Object.fromEntries(SPLITS.map((split, code) => [split, codes.filter((c) => c === code).length]));
  perTenK.push((ms / size) * 10_000);
  console.log(
    `${size} segments: splits planned in ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU (${((ms / size) * 10_000).toFixed(1)} ms per 10k); ${JSON.stringify(counts)}`,
  );
}
if (sizes.length > 1) console.log(`splits: per 10k at ${sizes.at(-1)} against ${sizes[0]}: ${(perTenK.at(-1)! / perTenK[0]).toFixed(2)}x wall`);
