// Facial geometry from face-api's 68 landmarks (the iBUG 300-W layout): unit-free ratios normalised
// by the inter-ocular distance (between the two eye centres), so they do not change with the face's
// size in the frame. They are geometric measures of the landmark layout, not FACS action-unit
// intensities: nothing here was calibrated against AU-coded footage, and each depends on head pose
// and on the person's resting face (a track's own median is the baseline where one is needed).

/** 68 points as [x0, y0, x1, y1, …] in pixels. */
export type Landmarks68 = ArrayLike<number>;

export interface FaceGeometry {
  /** inner-lip gap (mean of points 61–67, 62–66, 63–65) over the inter-ocular distance; ~0 closed, 0.3+ wide open */
  readonly mouthOpening: number;
  /** how far the lip corners (48, 54) sit above the lips' vertical centre, over the inter-ocular distance; up when smiling */
  readonly lipCornerRaise: number;
  /** eye-centre-to-brow height (mean of brow points 17–26 against the eye centres), over the inter-ocular distance */
  readonly browHeight: number;
  /** eye aspect ratio (eyelid gap over eye width) averaged over both eyes; ~0.3 open, ~0.1 closed */
  readonly eyeOpenness: number;
  /** nose tip's horizontal offset from the jaw's midline over the jaw width, -1..1 (sign = side the face turns to in the image) */
  readonly headYaw: number;
  /** nose tip's height between the eye line (0) and the chin (1); larger when the head tips down */
  readonly headPitch: number;
}

export const GEOMETRY_MEASURES = [
  'mouthOpening',
  'lipCornerRaise',
  'browHeight',
  'eyeOpenness',
  'headYaw',
  'headPitch',
] as const satisfies readonly (keyof FaceGeometry)[];

const x = (p: Landmarks68, i: number) => p[2 * i];
const y = (p: Landmarks68, i: number) => p[2 * i + 1];
const dist = (p: Landmarks68, a: number, b: number) => Math.hypot(x(p, a) - x(p, b), y(p, a) - y(p, b));
const meanOf = (p: Landmarks68, from: number, to: number, axis: 0 | 1) => {
  let sum = 0;
  for (let i = from; i <= to; i++) sum += p[2 * i + axis];
  return sum / (to - from + 1);
};

export function faceGeometry(points: Landmarks68): FaceGeometry {
  const rightEye = { x: meanOf(points, 36, 41, 0), y: meanOf(points, 36, 41, 1) };
  const leftEye = { x: meanOf(points, 42, 47, 0), y: meanOf(points, 42, 47, 1) };
  const iod = Math.max(1e-6, Math.hypot(leftEye.x - rightEye.x, leftEye.y - rightEye.y));
  const eyeLineY = (rightEye.y + leftEye.y) / 2;

  const mouthOpening = (dist(points, 61, 67) + dist(points, 62, 66) + dist(points, 63, 65)) / 3 / iod;
  const lipCentreY = (y(points, 51) + y(points, 57)) / 2;
  const lipCornerRaise = (lipCentreY - (y(points, 48) + y(points, 54)) / 2) / iod;
  const browHeight = (eyeLineY - meanOf(points, 17, 26, 1)) / iod;
  const eyeAspect = (a: number, b1: number, b2: number, c1: number, c2: number, d: number) =>
    (dist(points, b1, c2) + dist(points, b2, c1)) / (2 * Math.max(1e-6, dist(points, a, d)));
  const eyeOpenness = (eyeAspect(36, 37, 38, 40, 41, 39) + eyeAspect(42, 43, 44, 46, 47, 45)) / 2;
  const jawWidth = Math.max(1e-6, dist(points, 0, 16));
  const headYaw = (x(points, 30) - (x(points, 0) + x(points, 16)) / 2) / (jawWidth / 2);
  const chinDrop = Math.max(1e-6, y(points, 8) - eyeLineY);
  const headPitch = (y(points, 30) - eyeLineY) / chinDrop;
  return { mouthOpening, lipCornerRaise, browHeight, eyeOpenness, headYaw, headPitch };
}

export interface GeometrySummary {
  /** mean of each measure over the track's frames */
  readonly mean: FaceGeometry;
  /** max − min of each measure over the track's frames (how much it moved) */
  readonly range: FaceGeometry;
  /** the highest brow height over the track's median (brows raised above the person's own resting height) */
  readonly browRaise: number;
  /** the track's median brow height over the lowest (brows pulled down below their resting height) */
  readonly browLowering: number;
}

export function summariseGeometry(frames: readonly FaceGeometry[]): GeometrySummary | null {
  if (frames.length === 0) return null;
  const mean = {} as Record<keyof FaceGeometry, number>;
  const range = {} as Record<keyof FaceGeometry, number>;
  for (const measure of GEOMETRY_MEASURES) {
    const values = frames.map((f) => f[measure]);
    mean[measure] = values.reduce((a, b) => a + b, 0) / values.length;
    range[measure] = Math.max(...values) - Math.min(...values);
  }
  const brows = frames.map((f) => f.browHeight).sort((a, b) => a - b);
  const median = brows.length % 2 ? brows[(brows.length - 1) / 2] : (brows[brows.length / 2 - 1] + brows[brows.length / 2]) / 2;
  return { mean, range, browRaise: brows[brows.length - 1] - median, browLowering: median - brows[0] };
}
