// Footage-duplicate benchmark: how well the footage fingerprint (pipelines/quality/footage.ts) finds
// the same footage and only the same footage.
// - Positives: each demo clip against its generated variants (re-encoded at another size and bitrate,
//   0.5 s trimmed off the start, audio resampled to 8 kHz and back, mirrored left–right), and the
//   variants against each other.
// - Negatives: every pair of different demo clips (the same portrait, other sentences: "another clip
//   of the same speaker" when the speaker matches), and each clip against the same sentence spoken
//   by another flite voice over the same video ("the same sentence by another voice").
// Prints recall and precision over all pairs and per kind, then, with --distinct N, the share of N
// clips of distinct footage (generated gradients, random words, four voices) that the footage
// dedup keeps.
//
//   npx tsx scripts/bench/footage.ts [--clips 12] [--distinct 1000] [--explain]
//   (--explain: with --distinct, each distinct clip the matcher dropped and the clip it matched)
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { mulberry32 } from '../../pipelines/random.ts';
import {
  compareFootage,
  decodeFootage,
  DEFAULT_FOOTAGE_SEARCH,
  DEFAULT_THRESHOLDS,
  findFootageDuplicates,
  type DecodedFootage,
} from '../../pipelines/quality/footage.ts';
import { fingerprintFile } from '../../pipelines/quality/footage-media.ts';
import { closeFootageWorkers } from '../../pipelines/quality/footage-worker.ts';
import { sampleClips } from '../../tests/helpers.ts';

const exec = promisify(execFile);
const { values: args } = parseArgs({
  options: { clips: { type: 'string', default: '12' }, distinct: { type: 'string', default: '0' }, explain: { type: 'boolean', default: false } },
});
const clipCount = Number(args.clips);
const distinct = Number(args.distinct);
const signal = new AbortController().signal;

const VARIANTS: Record<string, string[]> = {
  reencoded: ['-vf', 'scale=320:-2', '-c:v', 'libx264', '-crf', '35', '-c:a', 'aac', '-b:a', '48k'],
  trimmed: ['-ss', '0.5', '-c:v', 'libx264', '-c:a', 'aac'],
  resampled: ['-af', 'aresample=8000,aresample=44100', '-c:v', 'copy', '-c:a', 'aac'],
  mirrored: ['-vf', 'hflip', '-c:v', 'libx264', '-c:a', 'copy'],
};
const VOICES = ['slt', 'awb', 'kal16', 'rms'];

async function ffmpeg(argv: string[]): Promise<void> {
  await exec('ffmpeg', ['-nostdin', '-y', '-loglevel', 'error', ...argv]);
}

interface Item {
  readonly name: string;
  /** the demo clip it derives from (its own name for an original) */
  readonly base: string;
  readonly kind: 'original' | keyof typeof VARIANTS | 'other-voice';
  readonly speaker: string;
  readonly fingerprint: DecodedFootage;
}

const input = await sampleClips(clipCount);
const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-footage-'));
try {
  const manifest = (await readFile(join(input, 'manifest.csv'), 'utf8')).trim().split('\n').slice(1);
  const clips = manifest.map((line) => {
    const [name, , speaker] = line.split(',');
    return { name, speaker, text: /"(.*)"$/.exec(line)?.[1] ?? line.split(',').slice(3).join(',') };
  });
  const items: Item[] = [];
  const started = performance.now();
  for (const [index, clip] of clips.entries()) {
    const source = join(input, `${clip.name}.mp4`);
    items.push({
      name: clip.name,
      base: clip.name,
      kind: 'original',
      speaker: clip.speaker,
      fingerprint: decodeFootage((await fingerprintFile(source, signal)).fingerprint),
    });
    for (const [kind, options] of Object.entries(VARIANTS)) {
      const file = join(work, `${clip.name}.${kind}.mp4`);
      await ffmpeg(kind === 'trimmed' ? ['-ss', '0.5', '-i', source, ...options.slice(2), file] : ['-i', source, ...options, file]);
      items.push({
        name: `${clip.name}.${kind}`,
        base: clip.name,
        kind: kind as Item['kind'],
        speaker: clip.speaker,
        fingerprint: decodeFootage((await fingerprintFile(file, signal)).fingerprint),
      });
    }
    // The same sentence in another voice, over the same video.
    const voice = VOICES[(index + 1) % VOICES.length];
    const wav = join(work, `${clip.name}.${voice}.wav`);
    await exec('flite', ['-voice', voice, '-t', clip.text, '-o', wav]);
    const dubbed = join(work, `${clip.name}.voice-${voice}.mp4`);
    await ffmpeg(['-i', source, '-i', wav, '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', dubbed]);
    items.push({
      name: `${clip.name}.voice-${voice}`,
      base: `${clip.name}.voice-${voice}`,
      kind: 'other-voice',
      speaker: `voice-${voice}`,
      fingerprint: decodeFootage((await fingerprintFile(dubbed, signal)).fingerprint),
    });
  }
  const fingerprintSec = (performance.now() - started) / 1000;

  // Every pair, judged with the dedup stage's default thresholds.
  const tally = new Map<string, { pairs: number; flagged: number }>();
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const bers: Record<'same' | 'different', number[]> = { same: [], different: [] };
  const frameBits: Record<'same' | 'different', number[]> = { same: [], different: [] };
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const [a, b] = [items[i], items[j]];
      const same = a.base === b.base;
      const kind = same
        ? `same footage: ${[a.kind, b.kind].sort().join(' / ')}`
        : a.kind === 'other-voice' || b.kind === 'other-voice'
          ? (a.kind === 'other-voice' ? a.name : b.name).startsWith(`${a.kind === 'other-voice' ? b.base : a.base}.voice-`)
            ? 'different: the same sentence, another voice'
            : 'different: other clips'
          : a.speaker === b.speaker
            ? 'different: another clip of the same speaker'
            : 'different: other clips';
      const verdict = compareFootage(a.fingerprint, b.fingerprint, DEFAULT_FOOTAGE_SEARCH);
      if (verdict.audioBer !== null) bers[same ? 'same' : 'different'].push(verdict.audioBer);
      if (verdict.frameBits !== null) frameBits[same ? 'same' : 'different'].push(verdict.frameBits);
      const entry = tally.get(kind) ?? { pairs: 0, flagged: 0 };
      entry.pairs++;
      if (verdict.duplicate) entry.flagged++;
      tally.set(kind, entry);
      if (same && verdict.duplicate) tp++;
      else if (!same && verdict.duplicate) fp++;
      else if (same) fn++;
    }
  }
  const ordered = [...tally].sort((x, y) => (x[0] < y[0] ? -1 : 1));
  for (const [kind, { pairs, flagged }] of ordered)
    process.stdout.write(`${kind.padEnd(48)} ${String(flagged).padStart(5)} of ${String(pairs).padStart(5)} pairs called duplicates\n`);
  const quantile = (values: number[], q: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
  process.stdout.write(
    `audio bit error rate: same footage max ${quantile(bers.same, 1).toFixed(3)} (median ${quantile(bers.same, 0.5).toFixed(3)}); different footage min ${quantile(bers.different, 0).toFixed(3)} (median ${quantile(bers.different, 0.5).toFixed(3)}); threshold ${DEFAULT_THRESHOLDS.maxAudioBer}\n`,
  );
  process.stdout.write(
    `keyframe distance (bits of 64): same footage max ${quantile(frameBits.same, 1).toFixed(1)} (median ${quantile(frameBits.same, 0.5).toFixed(1)}); threshold ${DEFAULT_THRESHOLDS.maxFrameBits}\n`,
  );
  process.stdout.write(`fingerprints: ${items.length} files in ${fingerprintSec.toFixed(1)} s (ffmpeg included)\n`);
  process.stdout.write(
    `footage duplicates: recall ${(tp / (tp + fn)).toFixed(3)} (${tp} of ${tp + fn} same-footage pairs), precision ${(tp / Math.max(1, tp + fp)).toFixed(3)} (${fp} different-footage pairs called duplicates)\n`,
  );

  if (distinct > 0) {
    const dir = join(work, 'distinct');
    await mkdir(dir);
    const random = mulberry32(distinct);
    const words = [
      'river',
      'window',
      'orange',
      'quiet',
      'market',
      'silver',
      'garden',
      'winter',
      'paper',
      'candle',
      'engine',
      'harbor',
      'pencil',
      'forest',
      'basket',
      'ladder',
      'mirror',
      'thunder',
      'pocket',
      'meadow',
      'bridge',
      'copper',
      'island',
      'lantern',
    ];
    const distinctItems: { id: string; fingerprint: DecodedFootage }[] = [];
    const described: string[] = [];
    const made = performance.now();
    for (let n = 0; n < distinct; n++) {
      const sentence = Array.from({ length: 4 + Math.floor(random() * 4) }, () => words[Math.floor(random() * words.length)]).join(' ');
      const wav = join(dir, `d${n}.wav`);
      await exec('flite', ['-voice', VOICES[n % VOICES.length], '-t', sentence, '-o', wav]);
      const file = join(dir, `d${n}.mp4`);
      await ffmpeg([
        '-f',
        'lavfi',
        '-i',
        `gradients=s=320x240:seed=${n + 1}:speed=0.02:rate=25`,
        '-i',
        wav,
        '-shortest',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-c:a',
        'aac',
        file,
      ]);
      distinctItems.push({ id: String(n).padStart(6, '0'), fingerprint: decodeFootage((await fingerprintFile(file, signal)).fingerprint) });
      described.push(`seed ${n + 1}, voice ${VOICES[n % VOICES.length]}: "${sentence}"`);
      await rm(wav);
      await rm(file);
    }
    const madeSec = (performance.now() - made) / 1000;
    const dedupStarted = performance.now();
    const report = findFootageDuplicates(distinctItems, DEFAULT_FOOTAGE_SEARCH);
    const kept = report.verdicts.filter((v) => v.kind === 'kept').length;
    if (args.explain) {
      report.verdicts.forEach((v, i) => {
        if (v.kind === 'duplicate')
          process.stdout.write(
            `  dropped ${described[i]}\n    as ${described[v.kept]}${v.via !== undefined ? ` (via ${described[v.via]})` : ''}: keyframes ${v.comparison.frameBits} bits, audio BER ${v.comparison.audioBer}\n`,
          );
      });
    }
    process.stdout.write(
      `distinct footage: ${kept} of ${distinct} clips kept (${((100 * kept) / distinct).toFixed(1)}%), ${report.comparedPairs} pairs compared in ${((performance.now() - dedupStarted) / 1000).toFixed(2)} s (clips made and fingerprinted in ${madeSec.toFixed(0)} s)\n`,
    );
  }
} finally {
  await closeFootageWorkers();
  await rm(work, { recursive: true, force: true });
}
