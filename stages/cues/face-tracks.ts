// Linking per-frame face detections into tracks: a detection continues the track whose last box it
// overlaps most (IoU, within the same shot and a short gap); a detection nothing overlaps — a new
// face, a face after a cut or an occlusion — is compared by face-api's 128-d descriptor with every
// track and joins the nearest one under the distance threshold, else starts a new track. Descriptors
// are computed only when a comparison needs them: an unmatched detection's when there is a track to
// compare it with, a track's the first time something is compared with it. A steady shot, where
// every face is new at the start and then followed by overlap, pays for none (each costs ~85 ms of
// CPU, more than the rest of a 4 s clip's face analysis); the values, and so the tracks, are the
// same as computing them all at once.

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface TrackingOptions {
  /** Least box overlap (intersection over union) that continues a track from one analysed frame to the next. */
  readonly minIou: number;
  /** Largest Euclidean descriptor distance that re-identifies a face (face-api's own matcher uses 0.6). */
  readonly maxDescriptorDistance: number;
  /** Analysed frames a track may go unseen and still be continued by overlap. */
  readonly maxGapFrames: number;
}

export function iou(a: Box, b: Box): number {
  const left = Math.max(a.x, b.x);
  const top = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, right - left) * Math.max(0, bottom - top);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

export function descriptorDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

/**
 * A detection's descriptor, made when first called: the caller keeps what it needs of the frame (the
 * face's pixels) when it hands this over, since the call may come frames later.
 */
export type LazyDescriptor = () => Promise<Float32Array>;

/** New tracks whose descriptor may still wait for a comparison; beyond this the oldest is made, bounding the face pixels held. */
const MAX_WAITING = 8;

interface LinkedTrack {
  readonly index: number;
  lastBox: Box;
  lastFrame: number;
  /** running mean of the descriptors seen for this face; null until a comparison first needs it */
  descriptor: Float32Array | null;
  /** the first detection's descriptor while `descriptor` is null */
  first: LazyDescriptor | null;
  descriptors: number;
}

/** Assigns each frame's detections to tracks; track numbers count from 0 in order of first appearance. */
export class FaceLinker {
  readonly #options: TrackingOptions;
  readonly #tracks: LinkedTrack[] = [];
  /** Descriptors computed, for the bench. */
  descriptorsComputed = 0;

  constructor(options: TrackingOptions) {
    this.#options = options;
  }

  get trackCount(): number {
    return this.#tracks.length;
  }

  /**
   * Track number per detection of frame `frame`. `cut` says the shot changed since the previous
   * analysed frame (no overlap is trusted across it). `describe(i)` hands over detection i's
   * descriptor, computed only if a comparison needs it (now or in a later frame).
   */
  async link(frame: number, boxes: readonly Box[], cut: boolean, describe: (detection: number) => LazyDescriptor): Promise<number[]> {
    const assigned = new Array<number>(boxes.length).fill(-1);
    const taken = new Set<number>();
    if (!cut) {
      const pairs: { track: LinkedTrack; detection: number; overlap: number }[] = [];
      for (const track of this.#tracks) {
        if (frame - track.lastFrame > this.#options.maxGapFrames + 1) continue;
        for (const [detection, box] of boxes.entries()) {
          const overlap = iou(track.lastBox, box);
          if (overlap >= this.#options.minIou) pairs.push({ track, detection, overlap });
        }
      }
      // Greedy by overlap; ties broken by track then detection order, so linking is deterministic.
      pairs.sort((a, b) => b.overlap - a.overlap || a.track.index - b.track.index || a.detection - b.detection);
      for (const { track, detection } of pairs) {
        if (assigned[detection] >= 0 || taken.has(track.index)) continue;
        assigned[detection] = track.index;
        taken.add(track.index);
      }
    }
    const unmatched = assigned.flatMap((t, detection) => (t < 0 ? [detection] : []));
    const described = new Map(unmatched.map((detection) => [detection, this.#once(describe(detection))]));
    // Re-identification: nearest (detection, track) pairs first, each track at most once per frame.
    const open = this.#tracks.filter((track) => !taken.has(track.index));
    const candidates: { detection: number; track: LinkedTrack; distance: number }[] = [];
    for (const detection of open.length > 0 ? unmatched : []) {
      const descriptor = await described.get(detection)!();
      for (const track of open) {
        const distance = descriptorDistance(descriptor, await this.#descriptorOf(track));
        if (distance <= this.#options.maxDescriptorDistance) candidates.push({ detection, track, distance });
      }
    }
    candidates.sort((a, b) => a.distance - b.distance || a.track.index - b.track.index || a.detection - b.detection);
    for (const { detection, track } of candidates) {
      if (assigned[detection] >= 0 || taken.has(track.index)) continue;
      assigned[detection] = track.index;
      taken.add(track.index);
      this.#absorb(track, await described.get(detection)!());
    }
    for (const detection of unmatched) {
      if (assigned[detection] >= 0) continue;
      const track: LinkedTrack = {
        index: this.#tracks.length,
        lastBox: boxes[detection],
        lastFrame: frame,
        descriptor: null,
        first: described.get(detection)!,
        descriptors: 1,
      };
      this.#tracks.push(track);
      assigned[detection] = track.index;
    }
    const waiting = this.#tracks.filter((track) => track.descriptor === null);
    for (const track of waiting.slice(0, Math.max(0, waiting.length - MAX_WAITING))) await this.#descriptorOf(track);
    for (const [detection, index] of assigned.entries()) {
      this.#tracks[index].lastBox = boxes[detection];
      this.#tracks[index].lastFrame = frame;
    }
    return assigned;
  }

  /** Records that track `index` was followed (not detected) to `box` in frame `frame`. */
  carry(frame: number, index: number, box: Box): void {
    this.#tracks[index].lastBox = box;
    this.#tracks[index].lastFrame = frame;
  }

  /** The track's running mean, starting from its first detection's descriptor when first asked. */
  async #descriptorOf(track: LinkedTrack): Promise<Float32Array> {
    if (track.descriptor === null) {
      track.descriptor = Float32Array.from(await track.first!());
      track.first = null;
    }
    return track.descriptor;
  }

  /** `descriptor` computed at most once, counted when it is. */
  #once(descriptor: LazyDescriptor): LazyDescriptor {
    let made: Promise<Float32Array> | undefined;
    return () => {
      if (!made) {
        this.descriptorsComputed++;
        made = descriptor();
      }
      return made;
    };
  }

  #absorb(track: LinkedTrack, descriptor: Float32Array): void {
    const mean = track.descriptor!;
    track.descriptors++;
    for (let i = 0; i < descriptor.length; i++) mean[i] += (descriptor[i] - mean[i]) / track.descriptors;
  }
}
