// The square input of a face-api net, made straight from a frame's RGB bytes. face-api makes it with
// tensor ops (NetInput.toBatchTensor and normalize: pad to a square with tf.concat, resize, subtract
// the channel means with another concat, divide), and on the WASM backend the two concats alone cost
// more than a small net's convolutions. One pass over the output pixels here, same values.

/** A region of a frame in whole pixels, inside the frame. */
export interface PixelRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Writes into `out` at `offset` the net input of `region` of an RGB frame `frameWidth` pixels wide:
 * the region padded with black to a square (`before` pixels above or left of it, the rest after it),
 * resized bilinearly to `size`×`size` as tf.image.resizeBilinear does without corner alignment or
 * half-pixel centres, minus `mean` per channel, over 255. With `extent`, only the first
 * `extent.width` columns and `extent.height` rows of that square are written (row-major at that width).
 */
export function squareInput(
  pixels: Uint8Array,
  frameWidth: number,
  region: PixelRegion,
  before: number,
  size: number,
  mean: readonly [number, number, number],
  out: Float32Array,
  offset: number,
  extent: { readonly width: number; readonly height: number } = { width: size, height: size },
): void {
  const { width, height } = region;
  const columns = extent.width;
  const side = Math.max(width, height);
  const padX = width < height ? before : 0;
  const padY = height < width ? before : 0;
  const scale = side / size;
  const rowBytes = frameWidth * 3;
  // Per output column: byte offsets in the frame row of the two source columns (-1: padding) and the second's weight.
  const left = new Int32Array(columns);
  const right = new Int32Array(columns);
  const weightX = new Float32Array(columns);
  for (let x = 0; x < columns; x++) {
    const source = x * scale;
    const x0 = Math.floor(source);
    const x1 = Math.min(x0 + 1, side - 1);
    left[x] = columnByte(x0 - padX, width, region.x);
    right[x] = columnByte(x1 - padX, width, region.x);
    weightX[x] = source - x0;
  }
  const [meanR, meanG, meanB] = mean;
  for (let y = 0; y < extent.height; y++) {
    const source = y * scale;
    const y0 = Math.floor(source);
    const y1 = Math.min(y0 + 1, side - 1);
    const wy = source - y0;
    const top = rowByte(y0 - padY, height, region.y, rowBytes);
    const bottom = rowByte(y1 - padY, height, region.y, rowBytes);
    let o = offset + y * columns * 3;
    for (let x = 0; x < columns; x++, o += 3) {
      const a = left[x];
      const b = right[x];
      const wx = weightX[x];
      if (top >= 0 && bottom >= 0 && a >= 0 && b >= 0) {
        // Inside the region (nearly every pixel): no padding to test for.
        const t0 = top + a;
        const t1 = top + b;
        const b0 = bottom + a;
        const b1 = bottom + b;
        out[o] = (lerp(pixels[t0], pixels[t1], pixels[b0], pixels[b1], wx, wy) - meanR) / 255;
        out[o + 1] = (lerp(pixels[t0 + 1], pixels[t1 + 1], pixels[b0 + 1], pixels[b1 + 1], wx, wy) - meanG) / 255;
        out[o + 2] = (lerp(pixels[t0 + 2], pixels[t1 + 2], pixels[b0 + 2], pixels[b1 + 2], wx, wy) - meanB) / 255;
        continue;
      }
      for (let c = 0; c < 3; c++) {
        const p00 = top >= 0 && a >= 0 ? pixels[top + a + c] : 0;
        const p01 = top >= 0 && b >= 0 ? pixels[top + b + c] : 0;
        const p10 = bottom >= 0 && a >= 0 ? pixels[bottom + a + c] : 0;
        const p11 = bottom >= 0 && b >= 0 ? pixels[bottom + b + c] : 0;
        out[o + c] = (lerp(p00, p01, p10, p11, wx, wy) - (c === 0 ? meanR : c === 1 ? meanG : meanB)) / 255;
      }
    }
  }
}

/** Bilinear: along the rows first, then between them (tfjs's order). */
function lerp(p00: number, p01: number, p10: number, p11: number, wx: number, wy: number): number {
  const upper = p00 + (p01 - p00) * wx;
  const lower = p10 + (p11 - p10) * wx;
  return upper + (lower - upper) * wy;
}

function columnByte(column: number, width: number, regionX: number): number {
  return column >= 0 && column < width ? (regionX + column) * 3 : -1;
}

function rowByte(row: number, height: number, regionY: number, rowBytes: number): number {
  return row >= 0 && row < height ? (regionY + row) * rowBytes : -1;
}
