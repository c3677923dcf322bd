// WAV decoding (pure): walk the RIFF chunks instead of trusting a 44-byte header. Shared by the
// acoustic cues and the footage fingerprints.

export class WavFormatError extends Error {
  override name = 'WavFormatError';
}

export interface DecodedWav {
  readonly sampleRate: number;
  readonly channels: number;
  /** Mono (channels averaged), full scale = 1. */
  readonly samples: Float32Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export function decodeWav(bytes: Uint8Array): DecodedWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]);
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new WavFormatError('not a RIFF/WAVE file');

  let format: { code: number; channels: number; sampleRate: number; blockAlign: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  for (let offset = 12; offset + 8 <= bytes.byteLength; ) {
    const id = tag(offset);
    // Streamed WAVs carry a placeholder size (0 or 0xFFFFFFFF) for data: it runs to the end of the file.
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'data' && (size === 0 || body + size > bytes.byteLength)) size = bytes.byteLength - body;
    if (id === 'fmt ') {
      if (size < 16) throw new WavFormatError(`fmt chunk of ${size} bytes is too short`);
      let code = view.getUint16(body, true);
      if (code === FORMAT_EXTENSIBLE && size >= 26) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      data = bytes.subarray(body, body + size);
      break;
    }
    offset = body + size + (size % 2);
  }
  if (!format) throw new WavFormatError('no fmt chunk');
  if (!data) throw new WavFormatError('no data chunk');
  const { code, channels, sampleRate, bits } = format;
  if (channels < 1 || sampleRate < 1) throw new WavFormatError(`bad fmt chunk: ${channels} channels at ${sampleRate} Hz`);
  const bytesPerSample = bits / 8;
  const supported = (code === FORMAT_PCM && [8, 16, 24, 32].includes(bits)) || (code === FORMAT_FLOAT && (bits === 32 || bits === 64));
  if (!supported) throw new WavFormatError(`unsupported WAV encoding (format ${code}, ${bits} bits); convert to pcm_s16le`);

  const blockAlign = Math.max(format.blockAlign, bytesPerSample * channels);
  const frames = Math.floor(data.byteLength / blockAlign);
  const samples = new Float32Array(frames);
  const dataView = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read = sampleReader(dataView, code, bits);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(i * blockAlign + c * bytesPerSample);
    samples[i] = sum / channels;
  }
  return { sampleRate, channels, samples };
}

function sampleReader(view: DataView, code: number, bits: number): (offset: number) => number {
  if (code === FORMAT_FLOAT) return bits === 32 ? (o) => view.getFloat32(o, true) : (o) => view.getFloat64(o, true);
  switch (bits) {
    case 8:
      return (o) => (view.getUint8(o) - 128) / 128;
    case 16:
      return (o) => view.getInt16(o, true) / 32768;
    case 24:
      return (o) => (view.getUint8(o) | (view.getUint8(o + 1) << 8) | (view.getInt8(o + 2) << 16)) / 8388608;
    default:
      return (o) => view.getInt32(o, true) / 2147483648;
  }
}

/** The 44-byte header of a 16-bit PCM WAV whose data chunk is `dataBytes` long. */
export function pcm16WavHeader(dataBytes: number, sampleRate: number, channels = 1): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(FORMAT_PCM, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2 * channels, 28);
  header.writeUInt16LE(2 * channels, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}
