// A segment's face crops as the `.npy` AffectGPT's face configs load (`openface_face/<name>/<name>.npy`):
// one uint8 array T x H x W x 3 in C order, the crops in time order, each resized to one H x W.
// Channels are BGR, as in the MER releases (made with cv2.imread); AffectGPT's loader resizes each
// crop with cv2 and samples T uniformly, so only frames that have a face are stacked.
import type Sharp from 'sharp';
import { lazyRequire } from '../lazy-require.ts';

/** sharp (libvips) takes ~0.2 CPU s to load: only an export that stacks faces pays it. */
const sharp = lazyRequire<typeof Sharp>('sharp');

export const FACE_SIZE = 224;

/** The `.npy` (format 1.0) bytes of a uint8 array of `shape` holding `data` in C order. */
export function npyBytes(shape: readonly number[], data: Uint8Array): Buffer {
  const count = shape.reduce((n, d) => n * d, 1);
  if (count !== data.length) throw new Error(`npy: shape ${shape.join('x')} needs ${count} bytes, got ${data.length}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${dims}), }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
  const unpadded = 10 + dict.length + 1;
  const header = `${dict + ' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93]).copy(prefix, 0);
  prefix.write('NUMPY', 1, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]);
}

/** Reads the header of `.npy` bytes: dtype, C order and shape (what a reader checks before the data). */
export function npyHeader(bytes: Buffer): { descr: string; fortranOrder: boolean; shape: number[]; dataOffset: number } {
  if (bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error('not an npy file (bad magic)');
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const order = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || order === undefined || shape === undefined) throw new Error(`npy header without descr, fortran_order or shape: ${header}`);
  return {
    descr,
    fortranOrder: order === 'True',
    shape: shape
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean)
      .map(Number),
    dataOffset: start + headerLength,
  };
}

/** The face crops (image files, in time order) stacked as a BGR uint8 `.npy`, each resized to FACE_SIZE x FACE_SIZE. */
export async function faceStackNpy(crops: readonly string[]): Promise<Buffer> {
  const frame = FACE_SIZE * FACE_SIZE * 3;
  const data = new Uint8Array(crops.length * frame);
  for (const [index, crop] of crops.entries()) {
    const rgb = await sharp()(crop).removeAlpha().toColourspace('srgb').resize(FACE_SIZE, FACE_SIZE, { fit: 'fill' }).raw().toBuffer();
    if (rgb.length !== frame) throw new Error(`face crop ${crop} decoded to ${rgb.length} bytes, expected ${frame}`);
    const offset = index * frame;
    for (let p = 0; p < frame; p += 3) {
      data[offset + p] = rgb[p + 2];
      data[offset + p + 1] = rgb[p + 1];
      data[offset + p + 2] = rgb[p];
    }
  }
  return npyBytes([crops.length, FACE_SIZE, FACE_SIZE, 3], data);
}
