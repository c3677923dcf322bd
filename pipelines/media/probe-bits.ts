// Bit-level readers for the few codec headers the native probe must look inside to give ffprobe's
// answer: the H.264 sequence parameter set (the decoder's picture size wins over the container's)
// and the MPEG-4 AudioSpecificConfig (the AAC sample rate and channels come from it, not from the
// sample entry). Every read is bounds-checked: a header that runs out of bits is "not sure".

/** Thrown when a header runs out of bits or breaks a limit; the caller falls back to ffprobe. */
export class NotSure extends Error {}

export class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.bit;
  }

  u(count: number): number {
    if (count > 32 || count > this.bitsLeft) throw new NotSure('header ends early');
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.bytes[this.bit >> 3];
      value = value * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return value;
  }

  /** Unsigned Exp-Golomb; ffmpeg's readers refuse codes longer than 32 bits, so do we. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      zeros++;
      if (zeros > 31) throw new NotSure('exp-golomb code too long');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** The NAL payload without emulation-prevention bytes (00 00 03 → 00 00). */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

export interface AvcPicture {
  /** The picture size after the SPS cropping, as ffmpeg's H.264 decoder reports it. */
  readonly width: number;
  readonly height: number;
  /** Cropping at the top or left: ffmpeg then ignores the container's size; the caller is not sure. */
  readonly cropsTopLeft: boolean;
}

/** The cropped picture size an H.264 SPS NAL unit (with its 1-byte header) describes. */
export function parseAvcSps(nal: Uint8Array): AvcPicture {
  if (nal.length < 4 || (nal[0] & 0x1f) !== 7) throw new NotSure('not an SPS');
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profile = r.u(8);
  r.u(16); // constraint flags, level
  if (r.ue() > 31) throw new NotSure('sps id');
  let chromaFormat = 1;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = r.ue();
    if (chromaFormat > 3) throw new NotSure('chroma_format_idc');
    if (chromaFormat === 3) r.u(1);
    if (r.ue() > 6 || r.ue() > 6) throw new NotSure('bit depth');
    r.u(1);
    if (r.u(1)) {
      for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++) {
        if (!r.u(1)) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
          if (next !== 0) next = (last + r.se() + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  if (r.ue() > 12) throw new NotSure('log2_max_frame_num');
  const pocType = r.ue();
  if (pocType === 0) {
    if (r.ue() > 12) throw new NotSure('log2_max_poc_lsb');
  } else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const cycle = r.ue();
    if (cycle > 255) throw new NotSure('poc cycle');
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) throw new NotSure('poc type');
  r.ue(); // max_num_ref_frames
  r.u(1);
  const mbWidth = r.ue() + 1;
  const mapHeight = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (!frameMbsOnly) r.u(1);
  r.u(1); // direct_8x8_inference
  const width = mbWidth * 16;
  const height = mapHeight * 16 * (2 - frameMbsOnly);
  if (width > 16384 || height > 16384) throw new NotSure('picture size');
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.u(1)) {
    const [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()];
    const stepX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
    const stepY = (2 - frameMbsOnly) * (chromaFormat === 1 ? 2 : 1);
    // ffmpeg drops cropping it finds invalid; the caller is not sure of such a stream.
    if ((left + right) * stepX >= width || (top + bottom) * stepY >= height) throw new NotSure('crop values invalid');
    crop = { left: left * stepX, right: right * stepX, top: top * stepY, bottom: bottom * stepY };
  }
  return { width: width - crop.left - crop.right, height: height - crop.top - crop.bottom, cropsTopLeft: crop.left > 0 || crop.top > 0 };
}

/** The SPS of an avcC box's payload (AVCDecoderConfigurationRecord); exactly one SPS, else not sure. */
export function spsOfAvcC(avcC: Uint8Array): Uint8Array {
  if (avcC.length < 8 || avcC[0] !== 1) throw new NotSure('avcC version');
  if ((avcC[5] & 0x1f) !== 1) throw new NotSure('avcC SPS count');
  const length = (avcC[6] << 8) | avcC[7];
  if (length === 0 || 8 + length > avcC.length) throw new NotSure('avcC SPS length');
  return avcC.subarray(8, 8 + length);
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export interface AacConfig {
  readonly sampleRate: number;
  readonly channels: number;
  /** SBR said absent by a sync extension (ffmpeg's encoder writes one); otherwise a decoder may find it implicitly. */
  readonly sbrAbsent: boolean;
}

/**
 * An AAC-LC AudioSpecificConfig as avpriv_mpeg4audio_get_config2 reads it from an esds: the plain
 * two-byte form, optionally followed by the backward-compatible sync extension (0x2b7) saying SBR is
 * absent. Explicit SBR or PS, a program config element, escape codes and the rest are not sure.
 */
export function parseAacConfig(asc: Uint8Array): AacConfig {
  if (asc.length < 2 || asc.length > 8) throw new NotSure('AudioSpecificConfig length');
  const r = new BitReader(asc);
  const objectType = r.u(5);
  const rateIndex = r.u(4);
  const channelConfig = r.u(4);
  if (objectType !== 2 || rateIndex >= AAC_RATES.length || channelConfig < 1 || channelConfig > 6) throw new NotSure('not plain AAC-LC');
  // GASpecificConfig: 960-sample frames, core coder and extension flags all clear.
  if (r.u(3) !== 0) throw new NotSure('GASpecificConfig flags');
  // ffmpeg scans for the sync extension bit by bit from here while more than 15 bits are left.
  let sbrAbsent = false;
  while (r.bitsLeft > 15) {
    const probe = new BitReader(asc);
    probe.u(asc.length * 8 - r.bitsLeft);
    if (probe.u(11) !== 0x2b7) {
      r.u(1);
      continue;
    }
    r.u(11);
    if (r.u(5) !== 5 || r.u(1) !== 0) throw new NotSure('sync extension other than "no SBR"');
    if (r.bitsLeft > 11 && r.u(11) === 0x548) throw new NotSure('PS extension');
    sbrAbsent = true;
    break;
  }
  return { sampleRate: AAC_RATES[rateIndex], channels: channelConfig, sbrAbsent };
}
