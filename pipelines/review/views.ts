// What the review page's API returns: one sample in the queue list, one sample in full, and the
// agreement between reviewers the page's header shows. Plain data; the page writes it as text.
import type { Segment } from '../../schemas/records.ts';
import type { Resolution } from './resolve.ts';
import type { ReviewSample } from './review-set.ts';
import { cohensKappa } from './statistics.ts';

export function summaryOf(sample: ReviewSample, resolution: Resolution, reviewer: string) {
  const s = sample.snapshot;
  const mine = resolution.votes.find((v) => v.reviewer === reviewer);
  return {
    i: sample.index,
    name: sample.name,
    primary: s.labels?.primary ?? null,
    judge: s.judge?.score ?? null,
    conflict: s.cues?.agreement?.tag ?? null,
    inCorpus: sample.inCorpus,
    published: sample.published,
    mine: mine?.verdict ?? null,
    votes: resolution.votes.map((v) => ({ reviewer: v.reviewer, verdict: v.verdict })),
    applied: resolution.applied ? { verdict: resolution.applied.verdict, reviewer: resolution.applied.reviewer } : null,
    stale: resolution.stale,
  };
}

export function detailOf(sample: ReviewSample, resolved: readonly Resolution[]) {
  const s: Segment = sample.snapshot;
  const resolution = resolved[sample.index];
  const url = (n: number | null) => (n === null ? null : `/media/${n}`);
  return {
    i: sample.index,
    segmentId: sample.segmentId,
    hash: sample.hash,
    name: sample.name,
    uri: s.clip.uri,
    start: s.start,
    end: s.end,
    split: sample.split,
    speaker: s.clip.manifest.speaker ?? null,
    manifestLabel: s.clip.manifest.label ?? null,
    published: sample.published,
    inCorpus: sample.inCorpus,
    transcript: s.transcript ? { text: s.transcript.text, language: s.transcript.language, engine: s.transcript.engine } : null,
    cues: s.cues ?? null,
    clues: s.clues ?? null,
    description: s.description ?? null,
    labels: s.labels ?? null,
    crosscheck: s.crosscheck ?? null,
    qa: s.qa ?? [],
    rationale: s.rationale ?? null,
    judge: s.judge ?? null,
    flags: sample.flags,
    disagreement: sample.disagreement,
    media: {
      video: url(sample.media.video),
      audio: url(sample.media.audio),
      frames: sample.media.frames.map((f) => ({ url: url(f.media), time: f.time })),
      faces: sample.media.faces.map((f) => ({ url: url(f.media), time: f.time })),
    },
    votes: resolution.votes,
    applied: resolution.applied ? { verdict: resolution.applied.verdict, reviewer: resolution.applied.reviewer } : null,
    stale: resolution.stale,
  };
}

/** Kappa (keep vs reject) per pair of reviewers over the samples both decided, for the page's header. */
export function agreementOf(resolved: readonly Resolution[]) {
  const names = [...new Set(resolved.flatMap((r) => r.votes.map((v) => v.reviewer)))].sort();
  const pairs = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const ratings: [string, string][] = [];
      for (const r of resolved) {
        const a = r.votes.find((v) => v.reviewer === names[i]);
        const b = r.votes.find((v) => v.reviewer === names[j]);
        if (a && b) ratings.push([a.verdict === 'reject' ? 'reject' : 'keep', b.verdict === 'reject' ? 'reject' : 'keep']);
      }
      if (ratings.length) pairs.push({ a: names[i], b: names[j], ...cohensKappa(ratings) });
    }
  }
  return pairs;
}
