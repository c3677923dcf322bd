// Speech fixtures shared by the ASR, segmentation and cue tests.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Speech from flite's 16 kHz `slt` voice (or another), converted by ffmpeg to the 16 kHz mono s16le WAV the segment stage makes. */
export async function fliteWav(dir: string, text: string, name: string, fliteArgs: string[] = ['-voice', 'slt']): Promise<string> {
  const raw = join(dir, `${name}.raw.wav`);
  const wav = join(dir, `${name}.wav`);
  await run('flite', [...fliteArgs, '-t', text, '-o', raw]);
  await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', raw, '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', wav]);
  return wav;
}

/** Word error rate: word-level edit distance over the reference length, ignoring case and punctuation. */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const words = (text: string) =>
    text
      .toLowerCase()
      .replace(/[^a-z' ]+/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
  const ref = words(reference);
  const hyp = words(hypothesis);
  let previous = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const current = [i];
    for (let j = 1; j <= hyp.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[hyp.length] / ref.length;
}
