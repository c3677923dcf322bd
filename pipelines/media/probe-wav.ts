// RIFF WAVE as ffmpeg 5.1's wav demuxer reads it (libavformat/wavdec.c, riffdec.c), for integer and
// float PCM only (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT and WAVE_FORMAT_EXTENSIBLE of those).
import type { Probe } from '../../schemas/records.ts';
import { NotSure } from './probe-bits.ts';
import { type ProbeFile, probeSeconds } from './native-probe.ts';

const PCM_INTEGER: Record<number, string> = { 8: 'pcm_u8', 16: 'pcm_s16le', 24: 'pcm_s24le', 32: 'pcm_s32le', 64: 'pcm_s64le' };
const PCM_FLOAT: Record<number, string> = { 32: 'pcm_f32le', 64: 'pcm_f64le' };
/** KSDATAFORMAT_SUBTYPE_* GUIDs share these last 12 bytes after the 4-byte format tag. */
const SUBTYPE_TAIL = Buffer.from([0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);
const MAX_CHUNKS = 256;

interface Format {
  readonly codec: string;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bits: number;
}

/** The 'fmt ' chunk, when it is PCM ffmpeg reads as exactly the codec named here. */
function readFormat(fmt: Buffer): Format {
  if (fmt.length !== 16 && fmt.length !== 18 && fmt.length !== 40) throw new NotSure(`fmt chunk of ${fmt.length} bytes`);
  let tag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const blockAlign = fmt.readUInt16LE(12);
  const bits = fmt.readUInt16LE(14);
  if (fmt.length >= 18) {
    const extra = fmt.readUInt16LE(16);
    if (tag === 0xfffe) {
      if (fmt.length !== 40 || extra !== 22) throw new NotSure('WAVE_FORMAT_EXTENSIBLE size');
      const validBits = fmt.readUInt16LE(18);
      if (validBits !== 0 && validBits !== bits) throw new NotSure('valid bits differ from the container size');
      if (!fmt.subarray(28, 40).equals(SUBTYPE_TAIL)) throw new NotSure('sub-format GUID');
      tag = fmt.readUInt32LE(24);
      // The channel mask only names the layout; ffprobe's channel count is the header's either way.
    } else if (extra !== 0) throw new NotSure('format extra bytes'); // extradata can turn s32 into f16
  }
  if (tag === 0xfffe) throw new NotSure('WAVE_FORMAT_EXTENSIBLE without its extension');
  const codec = tag === 1 ? PCM_INTEGER[bits] : tag === 3 ? PCM_FLOAT[bits] : undefined;
  if (!codec) throw new NotSure(`format tag ${tag} with ${bits} bits`);
  // A block size other than channels × sample size makes ffmpeg re-read s24 as f24 (and is odd anyway).
  if (channels < 1 || sampleRate < 1 || sampleRate > 0x7fffffff || blockAlign !== channels * (bits / 8)) throw new NotSure('format fields');
  return { codec, channels, sampleRate, bits };
}

// IEC 61937 (S/PDIF) and raw DTS sync words: ffmpeg probes 16-bit PCM data for them and, when found,
// reports ac3 / dts instead of PCM. (It also probes s16le data for MP3, AAC and AC-3 frame chains of
// 7 or more frames from the first byte; recorded audio does not form those, and they are not checked.)
const BITSTREAM_SYNCS = [
  Buffer.from([0x72, 0xf8, 0x1f, 0x4e]),
  Buffer.from([0xf8, 0x72, 0x4e, 0x1f]),
  Buffer.from([0x7f, 0xfe, 0x80, 0x01]),
  Buffer.from([0xfe, 0x7f, 0x01, 0x80]),
  Buffer.from([0x1f, 0xff, 0xe8, 0x00]),
  Buffer.from([0xff, 0x1f, 0x00, 0xe8]),
];

export async function probeWav(file: ProbeFile, head: Buffer): Promise<Probe> {
  if (head.length <= 32) throw new NotSure('too short for ffmpeg to call it wav');
  // The ACT demuxer out-scores wav on a 16-byte 'fmt ' followed by 212 zero bytes and 0x84.
  if (head.length >= 512 && head.readUInt32LE(16) === 16 && head.subarray(44, 256).every((b) => b === 0) && head[256] === 0x84)
    throw new NotSure('looks like ACT');
  let format: Format | undefined;
  let data: { offset: number; size: number } | undefined;
  let offset = 12;
  for (let chunks = 0; ; chunks++) {
    if (chunks > MAX_CHUNKS) throw new NotSure('too many chunks');
    if (offset + 8 > file.size) break; // ffmpeg stops at the end of the file
    const header = offset + 8 <= head.length ? head.subarray(offset, offset + 8) : await file.read(offset, 8);
    const tag = header.toString('latin1', 0, 4);
    const size = header.readUInt32LE(4);
    const body = offset + 8;
    switch (tag) {
      case 'fmt ':
        if (format) throw new NotSure('two fmt chunks');
        if (size > 40) throw new NotSure('fmt chunk size');
        if (body + size > file.size) throw new NotSure('fmt chunk truncated');
        format = readFormat(body + size <= head.length ? head.subarray(body, body + size) : await file.read(body, size));
        break;
      case 'data':
        if (data) throw new NotSure('two data chunks');
        // An unknown (0 or 0xFFFFFFFF) or over-long data size makes ffmpeg estimate the duration from the bit rate.
        if (size === 0 || size === 0xffffffff || body + size > file.size) throw new NotSure('data size');
        data = { offset: body, size };
        break;
      case 'LIST':
      case 'list':
        if (size < 4) throw new NotSure('short LIST');
        break;
      case 'JUNK':
      case 'junk':
      case 'PAD ':
      case 'fact':
      case 'bext':
      case 'iXML':
      case 'smpl':
      case 'inst':
      case 'acid':
      case 'cart':
      case 'umid':
      case 'DISP':
      case 'PEAK':
        break;
      default:
        // 'SMV0' adds a video stream, 'ID3 ' can add pictures and chapters, 'cue ' chapters, 'XMA2' a codec.
        throw new NotSure(`chunk ${JSON.stringify(tag)}`);
    }
    const next = body + size;
    if (next >= file.size) break;
    offset = next + (next & 1);
  }
  if (!format || !data) throw new NotSure('no fmt or no data chunk');
  const sample = await file.read(data.offset, Math.min(data.size, 64 * 1024 + 4));
  for (const sync of BITSTREAM_SYNCS) if (sample.indexOf(sync) >= 0) throw new NotSure('bitstream sync word in PCM');
  const frames = BigInt(Math.floor((data.size * 8) / (format.channels * format.bits)));
  if (frames === 0n) throw new NotSure('no whole sample');
  return {
    duration: probeSeconds(frames, BigInt(format.sampleRate)),
    formatName: 'wav',
    hasVideo: false,
    hasAudio: true,
    videoCodec: undefined,
    audioCodec: format.codec,
    width: undefined,
    height: undefined,
    fps: undefined,
    sampleRate: format.sampleRate,
    channels: format.channels,
  };
}
