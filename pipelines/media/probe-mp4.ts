// ISO BMFF / QuickTime (MP4, MOV, M4A) as ffmpeg 5.1's mov demuxer reads it (libavformat/mov.c):
// the format duration is mvhd's (rescaled to microseconds), a video stream's frame rate is its stts
// total (timescale × frames / duration, reduced), the AAC sample rate and channels come from the
// AudioSpecificConfig, and the H.264 picture size from the decoder, i.e. the SPS. Supported: H.264
// video (avc1/avc3 with its SPS in avcC) and AAC-LC audio (mp4a + esds, also inside QuickTime's
// 'wave'); timecode and text tracks are allowed beside them. Everything else is "not sure".
import type { Probe } from '../../schemas/records.ts';
import { BitReader, NotSure, parseAacConfig, parseAvcSps, spsOfAvcC } from './probe-bits.ts';
import { type ProbeFile, probeRate, probeSeconds } from './native-probe.ts';

const MAX_TOP_LEVEL_BOXES = 64;
const MAX_MOOV = 32 << 20;
const MAX_CHILDREN = 4096;
/** ffmpeg's default max_stts_delta: a larger sample duration is "corrected", which this does not mirror. */
const MAX_STTS_DELTA = 0xffffffff - 48000 * 10;
const INT_MAX = 0x7fffffff;

interface Box {
  readonly type: string;
  /** payload bounds in the buffer */
  readonly start: number;
  readonly end: number;
}

/** The boxes of `buffer[start, end)`, which must tile the range exactly. */
function children(buffer: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  let pos = start;
  while (pos < end) {
    if (boxes.length >= MAX_CHILDREN) throw new NotSure('too many boxes');
    if (pos + 8 > end) throw new NotSure('box header past its parent');
    let size = buffer.readUInt32BE(pos);
    const type = buffer.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > end) throw new NotSure('large box header past its parent');
      const large = buffer.readBigUInt64BE(pos + 8);
      if (large > BigInt(end - pos)) throw new NotSure('box past its parent');
      size = Number(large);
      header = 16;
    } else if (size === 0) throw new NotSure('box to the end of its parent');
    if (size < header || pos + size > end) throw new NotSure(`box ${JSON.stringify(type)} size ${size}`);
    boxes.push({ type, start: pos + header, end: pos + size });
    pos += size;
  }
  return boxes;
}

function only(boxes: Box[], type: string): Box | undefined {
  const found = boxes.filter((b) => b.type === type);
  if (found.length > 1) throw new NotSure(`two ${type} boxes`);
  return found[0];
}

function need(box: Box | undefined, what: string): Box {
  if (!box) throw new NotSure(`no ${what}`);
  return box;
}

function payload(box: Box, length: number): void {
  if (box.end - box.start < length) throw new NotSure(`${box.type} too short`);
}

interface Track {
  readonly handler: string;
  readonly timescale: number;
  readonly sampleEntry: SampleEntry;
  readonly frames: number;
  readonly ticks: bigint;
  readonly firstChunk: number;
}

type SampleEntry =
  | { kind: 'video'; codec: 'h264'; width: number; height: number }
  | { kind: 'audio'; codec: 'aac'; sampleRate: number; channels: number }
  | { kind: 'other' };

/** Tracks ffmpeg makes data or subtitle streams of, which change nothing in the Probe. */
const PASSIVE_ENTRIES = new Set(['tmcd', 'tx3g', 'text']);
/** Handler subtypes that make mov_read_hdlr change a stream's type or codec. */
const TYPING_HANDLERS = new Set(['vide', 'soun', 'm1a ', 'subp', 'clcp']);

function fullBoxVersion(buffer: Buffer, box: Box): number {
  payload(box, 4);
  return buffer[box.start];
}

/** mdhd's / mvhd's timescale and duration. */
function timing(buffer: Buffer, box: Box): { timescale: number; duration: bigint } {
  const version = fullBoxVersion(buffer, box);
  if (version > 1) throw new NotSure(`${box.type} version`);
  const at = box.start + 4 + (version === 1 ? 16 : 8);
  payload(box, at - box.start + (version === 1 ? 12 : 8));
  const timescale = buffer.readUInt32BE(at);
  const duration = version === 1 ? buffer.readBigUInt64BE(at + 4) : BigInt(buffer.readUInt32BE(at + 4));
  if (timescale === 0 || timescale > INT_MAX) throw new NotSure(`${box.type} timescale`);
  return { timescale, duration };
}

function readEsds(buffer: Buffer, box: Box): Uint8Array {
  let pos = box.start + 4;
  const end = box.end;
  const byte = () => {
    if (pos >= end) throw new NotSure('esds ends early');
    return buffer[pos++];
  };
  const descriptor = (): { tag: number; length: number } => {
    const tag = byte();
    let length = 0;
    for (let i = 0; i < 4; i++) {
      const b = byte();
      length = (length << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
      if (i === 3) throw new NotSure('descriptor length');
    }
    return { tag, length };
  };
  const skip = (n: number) => {
    if (pos + n > end) throw new NotSure('esds ends early');
    pos += n;
  };
  if (descriptor().tag !== 0x03) throw new NotSure('no ES descriptor');
  skip(2);
  const flags = byte();
  if (flags & 0x80) skip(2);
  if (flags & 0x40) skip(byte());
  if (flags & 0x20) skip(2);
  if (descriptor().tag !== 0x04) throw new NotSure('no decoder config');
  const objectType = byte();
  // MPEG-4 AAC and the MPEG-2 AAC profiles; MP3 (0x69, 0x6B) and the rest go to ffprobe.
  if (![0x40, 0x66, 0x67, 0x68].includes(objectType)) throw new NotSure(`esds object type ${objectType}`);
  skip(12);
  const specific = descriptor();
  if (specific.tag !== 0x05 || specific.length === 0) throw new NotSure('no decoder specific info');
  if (pos + specific.length > end) throw new NotSure('esds ends early');
  return buffer.subarray(pos, pos + specific.length);
}

function readSampleEntry(buffer: Buffer, stsd: Box, handler: string): SampleEntry {
  payload(stsd, 8);
  if (buffer[stsd.start] !== 0) throw new NotSure('stsd version');
  if (buffer.readUInt32BE(stsd.start + 4) !== 1) throw new NotSure('stsd with several entries');
  const [entry] = children(buffer, stsd.start + 8, stsd.end);
  if (!entry || entry.end !== stsd.end) throw new NotSure('stsd entry');
  const format = entry.type;
  if (handler === 'vide') {
    if (format !== 'avc1' && format !== 'avc3') throw new NotSure(`video sample entry ${JSON.stringify(format)}`);
    payload(entry, 78);
    const width = buffer.readUInt16BE(entry.start + 24);
    const height = buffer.readUInt16BE(entry.start + 26);
    // ffmpeg swaps planes for this compressor name and rounds odd sizes down; not seen in H.264, refused anyway.
    if (buffer.toString('latin1', entry.start + 43, entry.start + 68).startsWith("Planar Y'CbCr 8-bit 4:2:0")) throw new NotSure('planar name');
    const boxes = children(buffer, entry.start + 78, entry.end);
    const avcC = need(only(boxes, 'avcC'), 'avcC');
    const picture = parseAvcSps(spsOfAvcC(buffer.subarray(avcC.start, avcC.end)));
    // The decoder's size is the SPS's, except that it takes the container's when they differ only
    // inside the last macroblock; equal sizes and no top/left cropping make both readings agree.
    if (picture.cropsTopLeft || picture.width !== width || picture.height !== height) throw new NotSure('SPS and sample entry sizes differ');
    return { kind: 'video', codec: 'h264', width, height };
  }
  if (handler === 'soun') {
    if (format !== 'mp4a') throw new NotSure(`audio sample entry ${JSON.stringify(format)}`);
    payload(entry, 28);
    const version = buffer.readUInt16BE(entry.start + 8);
    const extension = [0, 16, 36][version];
    if (extension === undefined) throw new NotSure('sound description version');
    payload(entry, 28 + extension);
    let boxes = children(buffer, entry.start + 28 + extension, entry.end);
    for (const box of boxes) if (!['esds', 'wave', 'btrt', 'chan'].includes(box.type)) throw new NotSure(`audio entry box ${JSON.stringify(box.type)}`);
    // 'chan' names the layout; the AAC decoder sets the channel count from the AudioSpecificConfig. A
    // 'chan' too short for ffmpeg fails the whole file.
    const chan = only(boxes, 'chan');
    if (chan && chan.end - chan.start < 16) throw new NotSure('short chan');
    const wave = only(boxes, 'wave');
    if (wave) {
      if (only(boxes, 'esds')) throw new NotSure('esds twice');
      // QuickTime's 'wave' (frma, mp4a, esds and a zero terminator); the terminator is not a box.
      let end = wave.end;
      if (end - wave.start >= 8 && buffer.readUInt32BE(end - 8) === 8 && buffer.readUInt32BE(end - 4) === 0) end -= 8;
      boxes = children(buffer, wave.start, end);
      for (const box of boxes) if (!['frma', 'mp4a', 'esds'].includes(box.type)) throw new NotSure(`wave box ${JSON.stringify(box.type)}`);
      const frma = only(boxes, 'frma');
      if (frma && (frma.end - frma.start !== 4 || buffer.toString('latin1', frma.start, frma.end) !== 'mp4a')) throw new NotSure('frma');
    }
    const esds = need(only(boxes, 'esds'), 'esds');
    const config = parseAacConfig(readEsds(buffer, esds));
    // Without the "no SBR" extension a stream may be HE-AAC signalled implicitly, which ffmpeg's decoder
    // finds in the first frame and reports at twice the rate (and mono as stereo with PS). Encoders use
    // that for low rates only; under 32 kHz, ffprobe decides.
    if (!config.sbrAbsent && config.sampleRate < 32000) throw new NotSure('AAC rate where implicit SBR is possible');
    return { kind: 'audio', codec: 'aac', sampleRate: config.sampleRate, channels: config.channels };
  }
  if (!PASSIVE_ENTRIES.has(format)) throw new NotSure(`${handler} track with ${JSON.stringify(format)}`);
  return { kind: 'other' };
}

/** A full box whose payload after version and flags is an entry count and `entrySize`-byte entries filling it exactly. */
function table(buffer: Buffer, box: Box, entrySize: number, header = 8): number {
  payload(box, header);
  const entries = buffer.readUInt32BE(box.start + header - 4);
  if (box.end - box.start !== header + entries * entrySize) throw new NotSure(`${box.type} entries do not fill it`);
  return entries;
}

/**
 * The sample tables must be complete and consistent (ffmpeg fails or guesses on broken ones): sizes for
 * every sample stts times, chunks stsc maps every sample to, every chunk's bytes inside the file (else
 * the file is truncated). Returns the first chunk's offset.
 */
function checkSampleTables(buffer: Buffer, stbl: Box[], frames: number, fileSize: number): number {
  const sizes = need(only(stbl, 'stsz'), 'stsz');
  payload(sizes, 12);
  const constantSize = buffer.readUInt32BE(sizes.start + 4);
  const count = buffer.readUInt32BE(sizes.start + 8);
  if (count !== frames) throw new NotSure('sample count differs from stts');
  if (constantSize === 0) {
    if (table(buffer, sizes, 4, 12) !== count) throw new NotSure('stsz');
  } else if (sizes.end - sizes.start !== 12 || constantSize > INT_MAX) throw new NotSure('stsz');
  const sampleSize = (i: number) => (constantSize ? constantSize : buffer.readUInt32BE(sizes.start + 12 + i * 4));
  const stco = only(stbl, 'stco');
  const co64 = only(stbl, 'co64');
  if (!stco === !co64) throw new NotSure('chunk offsets');
  const offsets = (stco ?? co64)!;
  const width = co64 ? 8 : 4;
  const chunks = table(buffer, offsets, width);
  const chunkOffset = (i: number) => (co64 ? Number(buffer.readBigUInt64BE(offsets.start + 8 + i * 8)) : buffer.readUInt32BE(offsets.start + 8 + i * 4));
  const stsc = need(only(stbl, 'stsc'), 'stsc');
  const runs = table(buffer, stsc, 12);
  if (runs === 0 || chunks === 0) throw new NotSure('no chunks');
  let sample = 0;
  for (let run = 0; run < runs; run++) {
    const at = stsc.start + 8 + run * 12;
    const first = buffer.readUInt32BE(at);
    const perChunk = buffer.readUInt32BE(at + 4);
    const description = buffer.readUInt32BE(at + 8);
    const next = run + 1 < runs ? buffer.readUInt32BE(at + 12) : chunks + 1;
    if ((run === 0 ? first !== 1 : false) || next <= first || next > chunks + 1 || perChunk === 0 || description !== 1) throw new NotSure('stsc');
    for (let chunk = first - 1; chunk < next - 1; chunk++) {
      if (perChunk > count - sample) throw new NotSure('stsc maps more samples than stsz has');
      // Loops run over table entries only, never over a count the file states (a constant sample size
      // can claim 2^31 samples in a few bytes).
      let bytes = 0;
      if (constantSize) bytes = perChunk * constantSize;
      else for (let i = sample; i < sample + perChunk; i++) bytes += sampleSize(i);
      sample += perChunk;
      const end = chunkOffset(chunk) + bytes;
      if (!Number.isSafeInteger(end) || end > fileSize) throw new NotSure('chunk past the end of the file');
    }
  }
  if (sample !== count) throw new NotSure('stsc maps fewer samples than stsz has');
  for (const [type, entrySize] of [
    ['ctts', 8],
    ['stss', 4],
    ['stps', 4],
  ] as const) {
    const box = only(stbl, type);
    if (box) table(buffer, box, entrySize);
  }
  return chunkOffset(0);
}

/** Sum of an stts box: frames and total ticks, as mov_read_stts adds them. */
function readStts(buffer: Buffer, box: Box): { frames: number; ticks: bigint } {
  const entries = table(buffer, box, 8);
  if (entries === 0) throw new NotSure('stts entries');
  let frames = 0;
  let ticks = 0n;
  for (let i = 0; i < entries; i++) {
    const count = buffer.readUInt32BE(box.start + 8 + i * 8);
    const delta = buffer.readUInt32BE(box.start + 12 + i * 8);
    if (delta > MAX_STTS_DELTA) throw new NotSure('stts delta ffmpeg corrects');
    frames += count;
    ticks += BigInt(count) * BigInt(delta);
    if (frames > INT_MAX) throw new NotSure('stts frame count');
  }
  if (frames === 0 || frames > INT_MAX || ticks === 0n) throw new NotSure('stts totals');
  return { frames, ticks };
}

/**
 * User data ffmpeg turns into metadata: its parsers fail the whole file on some malformed entries, so
 * only the plain shapes are accepted: QuickTime '©xxx' strings, and an iTunes-style meta with a handler
 * and an ilst of '©xxx' / 'covr' items holding 'data' boxes.
 */
function checkUserData(buffer: Buffer, box: Box): void {
  if (box.type === 'meta') {
    payload(box, 4);
    for (const child of children(buffer, box.start + 4, box.end)) {
      if (child.type === 'hdlr') payload(child, 12);
      else if (child.type === 'ilst') {
        for (const item of children(buffer, child.start, child.end)) {
          if (!item.type.startsWith('\xa9') && item.type !== 'covr') throw new NotSure(`ilst item ${JSON.stringify(item.type)}`);
          const data = children(buffer, item.start, item.end);
          if (data.length === 0 || data.some((d) => d.type !== 'data' || d.end - d.start < 8)) throw new NotSure('ilst data');
          if (item.type !== 'covr' && data.length !== 1) throw new NotSure('ilst data count');
        }
      } else if (child.type !== 'free') throw new NotSure(`meta box ${JSON.stringify(child.type)}`);
    }
    return;
  }
  for (const child of children(buffer, box.start, box.end)) {
    if (child.type === 'meta') checkUserData(buffer, child);
    else if (child.type.startsWith('\xa9') && child.type !== '\xa9xyz') {
      payload(child, 4);
      if (4 + buffer.readUInt16BE(child.start) > child.end - child.start) throw new NotSure('udta string size');
    } else if (child.type !== 'free') throw new NotSure(`udta box ${JSON.stringify(child.type)}`);
  }
}

/** Edit lists change where samples play, not the fields of a Probe; they must still be well formed. */
function checkEdits(buffer: Buffer, edts: Box): void {
  for (const box of children(buffer, edts.start, edts.end)) {
    if (box.type !== 'elst') throw new NotSure(`edts box ${JSON.stringify(box.type)}`);
    table(buffer, box, fullBoxVersion(buffer, box) === 1 ? 20 : 12);
  }
}

/** Data references: the media must be in this file ('url ' or 'alis' flagged self-contained). */
function checkDataReferences(buffer: Buffer, dinf: Box): void {
  const boxes = children(buffer, dinf.start, dinf.end);
  const dref = need(only(boxes, 'dref'), 'dref');
  if (boxes.length !== 1) throw new NotSure('dinf');
  payload(dref, 8);
  if (buffer.readUInt32BE(dref.start + 4) !== 1) throw new NotSure('dref entries');
  const entries = children(buffer, dref.start + 8, dref.end);
  if (entries.length !== 1 || !['url ', 'alis'].includes(entries[0].type) || entries[0].end - entries[0].start !== 4 || !(buffer[entries[0].start + 3] & 1))
    throw new NotSure('data reference not self-contained');
}

function readTrack(buffer: Buffer, trak: Box, fileSize: number): Track {
  const boxes = children(buffer, trak.start, trak.end);
  for (const box of boxes)
    if (!['tkhd', 'edts', 'tref', 'mdia', 'udta', 'meta', 'free', 'skip'].includes(box.type)) throw new NotSure(`trak box ${JSON.stringify(box.type)}`);
  const tkhd = need(only(boxes, 'tkhd'), 'tkhd');
  if (tkhd.end - tkhd.start !== (fullBoxVersion(buffer, tkhd) === 1 ? 96 : 84)) throw new NotSure('tkhd size');
  for (const box of boxes) if (box.type === 'udta' || box.type === 'meta') checkUserData(buffer, box);
  const edts = only(boxes, 'edts');
  if (edts) checkEdits(buffer, edts);
  const tref = only(boxes, 'tref');
  // A chapter track can be a picture track ffmpeg marks as an attached picture.
  if (tref && children(buffer, tref.start, tref.end).some((b) => b.type === 'chap')) throw new NotSure('chapter reference');
  const mdiaBox = need(only(boxes, 'mdia'), 'mdia');
  const mdia = children(buffer, mdiaBox.start, mdiaBox.end);
  const { timescale } = timing(buffer, need(only(mdia, 'mdhd'), 'mdhd'));
  const hdlr = need(only(mdia, 'hdlr'), 'hdlr');
  payload(hdlr, 12);
  const handler = buffer.toString('latin1', hdlr.start + 8, hdlr.start + 12);
  const minfBox = need(only(mdia, 'minf'), 'minf');
  const minf = children(buffer, minfBox.start, minfBox.end);
  for (const box of minf)
    if (!['vmhd', 'smhd', 'gmhd', 'nmhd', 'hdlr', 'dinf', 'stbl'].includes(box.type)) throw new NotSure(`minf box ${JSON.stringify(box.type)}`);
  const dinf = only(minf, 'dinf');
  if (dinf) checkDataReferences(buffer, dinf);
  for (const box of minf.filter((b) => b.type === 'hdlr')) {
    payload(box, 12);
    if (TYPING_HANDLERS.has(buffer.toString('latin1', box.start + 8, box.start + 12))) throw new NotSure('media information handler types the track');
  }
  const stblBox = need(only(minf, 'stbl'), 'stbl');
  const stbl = children(buffer, stblBox.start, stblBox.end);
  const known = ['stsd', 'stts', 'ctts', 'stss', 'stps', 'stsc', 'stsz', 'stco', 'co64', 'sdtp', 'sgpd', 'sbgp', 'cslg', 'free'];
  for (const box of stbl) if (!known.includes(box.type)) throw new NotSure(`stbl box ${JSON.stringify(box.type)}`);
  const sampleEntry = readSampleEntry(buffer, need(only(stbl, 'stsd'), 'stsd'), handler);
  const { frames, ticks } = readStts(buffer, need(only(stbl, 'stts'), 'stts'));
  const firstChunk = checkSampleTables(buffer, stbl, frames, fileSize);
  return { handler, timescale, sampleEntry, frames, ticks, firstChunk };
}

/**
 * The first raw_data_block element of an AAC frame past fill elements (ffmpeg's encoder opens with one
 * naming itself) must be the channel element the configuration implies; a program config element
 * would re-configure the decoder's channels, anything else is not sure.
 */
function firstAacElement(frame: Buffer, channels: number): void {
  const r = new BitReader(frame);
  for (let elements = 0; elements < 8; elements++) {
    const id = r.u(3);
    if (id === 6) {
      let count = r.u(4);
      if (count === 15) count += r.u(8) - 1;
      if (count * 8 > r.bitsLeft) throw new NotSure('fill element past the read');
      for (let i = 0; i < count; i++) r.u(8);
      continue;
    }
    if (id !== (channels === 2 ? 1 : 0)) throw new NotSure(`first AAC element ${id}`);
    return;
  }
  throw new NotSure('AAC fill elements');
}

export async function probeIsoBmff(file: ProbeFile, head: Buffer): Promise<Probe> {
  // The top level must tile the file exactly: a box running past the end is a truncated file.
  let moov: { offset: number; size: number } | undefined;
  let pos = 0;
  for (let n = 0; pos < file.size; n++) {
    if (n >= MAX_TOP_LEVEL_BOXES) throw new NotSure('too many top-level boxes');
    const header = pos + 16 <= head.length ? head.subarray(pos, pos + 16) : await file.read(pos, 16);
    if (header.length < 8) throw new NotSure('trailing bytes');
    let size = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    if (size === 1) {
      if (header.length < 16) throw new NotSure('large box header');
      const large = header.readBigUInt64BE(8);
      if (large > BigInt(file.size - pos)) throw new NotSure('box past the end of the file');
      size = Number(large);
    } else if (size === 0) {
      size = file.size - pos; // to the end of the file
    }
    if (size < 8 || pos + size > file.size) throw new NotSure(`top-level ${JSON.stringify(type)} past the end of the file`);
    if (type === 'moov') {
      if (moov) throw new NotSure('two moov boxes');
      moov = { offset: pos, size };
    } else if (!['ftyp', 'mdat', 'free', 'skip', 'wide'].includes(type)) throw new NotSure(`top-level box ${JSON.stringify(type)}`);
    pos += size;
  }
  if (!moov) throw new NotSure('no moov');
  if (moov.size > MAX_MOOV) throw new NotSure('moov too large');
  const buffer =
    moov.offset + moov.size <= head.length ? head.subarray(moov.offset, moov.offset + moov.size) : await file.read(moov.offset, moov.size, MAX_MOOV);
  const [moovBox] = children(buffer, 0, buffer.length);
  const boxes = children(buffer, moovBox.start, moovBox.end);
  for (const box of boxes)
    if (!['mvhd', 'trak', 'udta', 'meta', 'iods', 'free', 'skip'].includes(box.type)) throw new NotSure(`moov box ${JSON.stringify(box.type)}`);
  const mvhd = need(only(boxes, 'mvhd'), 'mvhd');
  if (mvhd.end - mvhd.start !== (fullBoxVersion(buffer, mvhd) === 1 ? 112 : 100)) throw new NotSure('mvhd size');
  const movie = timing(buffer, mvhd);
  for (const box of boxes) if (box.type === 'udta' || box.type === 'meta') checkUserData(buffer, box);
  // Fragmented files and files still being written carry no movie duration.
  if (movie.duration === 0n || movie.duration > 0x7fffffffffffffffn) throw new NotSure('movie duration');
  const tracks = boxes.filter((b) => b.type === 'trak').map((trak) => readTrack(buffer, trak, file.size));
  const video = tracks.find((t) => t.sampleEntry.kind === 'video');
  const audio = tracks.find((t) => t.sampleEntry.kind === 'audio');
  if (!video && !audio) throw new NotSure('no audio or video track');
  if (audio && audio.sampleEntry.kind === 'audio') {
    // The decoder reads the first frame: a program config element there may change the channels.
    firstAacElement(await file.read(audio.firstChunk, 512), audio.sampleEntry.channels);
  }
  const picture = video?.sampleEntry.kind === 'video' ? video.sampleEntry : undefined;
  const sound = audio?.sampleEntry.kind === 'audio' ? audio.sampleEntry : undefined;
  return {
    duration: probeSeconds(movie.duration, BigInt(movie.timescale)),
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    hasVideo: Boolean(picture),
    hasAudio: Boolean(sound),
    videoCodec: picture?.codec,
    audioCodec: sound?.codec,
    width: picture?.width,
    height: picture?.height,
    fps: video ? probeRate(BigInt(video.timescale) * BigInt(video.frames), video.ticks) : undefined,
    sampleRate: sound?.sampleRate,
    channels: sound?.channels,
  };
}
