import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageContext, tempDir } from '../helpers.ts';
import { RecordError } from '../../pipelines/errors.ts';
import { sha256 } from '../../pipelines/fingerprint.ts';
import { isDrop } from '../../pipelines/stage.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { Segment, VisualCues, type ArtefactRef } from '../../schemas/records.ts';
import { findFaceImage } from '../../scripts/face-image.ts';
import { cuesVisual, type VisualConfig } from '../../stages/cues/visual.ts';
import { closeFaceWorkers } from '../../stages/cues/visual-worker.ts';

let root: string;
let store: LocalStore;
/** Keyframes as segment makes them: 640x360 JPEGs, the portrait at three framings, and a grey frame. */
const frames: Record<'wide' | 'close' | 'shifted' | 'grey', ArtefactRef> = {} as never;

async function putJpeg(name: string, jpeg: Buffer): Promise<ArtefactRef> {
  const key = `media/frames/${sha256(jpeg).slice(0, 2)}/${sha256(jpeg)}/${name}.jpg`;
  await store.put(key, jpeg);
  return { key, bytes: jpeg.byteLength };
}

function makeSegment(refs: ArtefactRef[], span = { start: 10, end: 14 }): Segment {
  const clipId = sha256(`clip:${refs.map((r) => r.key).join()}`);
  return Segment.parse({
    id: sha256(`segment:${clipId}`),
    clipId,
    clip: {
      id: clipId,
      uri: 'clips/astronaut.mp4',
      name: 'astronaut',
      bytes: 1000,
      probe: { duration: 20, formatName: 'mov,mp4,m4a,3gp,3g2,mj2', hasVideo: true, hasAudio: false, width: 640, height: 360 },
      manifest: {},
      partition: 0,
    },
    index: 0,
    ...span,
    frames: refs,
  });
}

const config = (overrides: Partial<VisualConfig> = {}): VisualConfig => cuesVisual.configSchema.parse(overrides);

async function visualCues(refs: ArtefactRef[], settings = config(), on = store): Promise<VisualCues> {
  const { ctx, work } = stageContext({ store: on, stage: 'cues.visual' });
  const result = await cuesVisual.run(makeSegment(refs), settings, ctx);
  if (isDrop(result)) throw new Error(`dropped: ${result.reason}`);
  expect(work).toEqual(refs.length > 0 ? { dsp: 1 } : {});
  return VisualCues.parse(result.cues!.visual);
}

beforeAll(async () => {
  root = await tempDir('emoforge-visual-');
  store = new LocalStore(root);
  const portrait = await findFaceImage();
  const frame = (image: ReturnType<typeof sharp>) => image.flatten({ background: '#000' }).jpeg({ quality: 90 }).toBuffer();
  const small = await sharp(portrait).resize(300, 300).toBuffer();
  const canvas = () => sharp({ create: { width: 640, height: 360, channels: 3, background: '#203040' } });
  frames.wide = await putJpeg('00', await frame(sharp(portrait).resize(640, 360, { fit: 'contain', background: '#000' })));
  frames.close = await putJpeg('01', await frame(sharp(portrait).extract({ left: 96, top: 0, width: 320, height: 180 }).resize(640, 360)));
  frames.shifted = await putJpeg('02', await frame(canvas().composite([{ input: small, left: 320, top: 40 }])));
  frames.grey = await putJpeg('03', await frame(sharp({ create: { width: 640, height: 360, channels: 3, background: '#808080' } })));
});

afterAll(async () => {
  await closeFaceWorkers();
  await rm(root, { recursive: true, force: true });
});

describe('cues.visual', () => {
  it('finds the smiling astronaut in every keyframe and stores 224x224 face crops', async () => {
    const refs = [frames.wide, { ...frames.close, time: 1.5 }, frames.shifted];
    const visual = await visualCues(refs);
    expect(visual.detector).toBe('ssd');
    expect(visual.frames.map((f) => f.time)).toEqual([0.667, 1.5, 3.333]); // centres of thirds of 4 s, unless the ref says
    for (const frame of visual.frames) {
      expect(frame.faces).toBeGreaterThanOrEqual(1);
      expect(frame.box!.score).toBeGreaterThan(0.5);
      expect(frame.expressions!.happy).toBeGreaterThan(0.9);
    }
    expect(visual.dominant).toBe('happy');
    expect(visual.faceRatio).toBe(1);
    expect(visual.stability).toBe(1);
    expect(visual.meanExpressions!.happy).toBeGreaterThan(0.9);

    expect(visual.crops).toHaveLength(3);
    expect(visual.crops.map((c) => c.time)).toEqual([0.667, 1.5, 3.333]);
    for (const crop of visual.crops) {
      expect(crop.key).toMatch(/^media\/faces\/[0-9a-f]{2}\/[0-9a-f]{64}\/\d{2}\.jpg$/);
      const bytes = (await store.get(crop.key))!;
      expect(bytes.byteLength).toBe(crop.bytes);
      expect(await sharp(bytes).metadata()).toMatchObject({ format: 'jpeg', width: 224, height: 224 });
    }
  });

  it('records no face for a plain frame and for a segment without keyframes, without dropping', async () => {
    const grey = await visualCues([frames.grey]);
    expect(grey.frames).toEqual([{ time: 2, faces: 0, box: null, expressions: null }]);
    expect(grey).toMatchObject({ meanExpressions: null, dominant: null, faceRatio: 0, stability: 0, crops: [] });

    const none = await visualCues([]);
    expect(none).toMatchObject({ frames: [], meanExpressions: null, dominant: null, faceRatio: 0, crops: [] });

    const mixed = await visualCues([frames.grey, frames.wide], config({ crop: { enabled: false, size: 224, margin: 0.25 } }));
    expect(mixed.faceRatio).toBe(0.5);
    expect(mixed.dominant).toBe('happy');
    expect(mixed.crops).toEqual([]);
  });

  it('gives identical numbers and crop bytes for the same JPEGs, across fresh workers and stores', async () => {
    const refs = [frames.wide, frames.close];
    const first = await visualCues(refs);
    await closeFaceWorkers();
    const otherStore = new LocalStore(await tempDir('emoforge-visual-again-'));
    for (const ref of refs) await otherStore.put(ref.key, (await store.get(ref.key))!);
    const second = await visualCues(refs, config(), otherStore);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    for (const crop of first.crops) expect((await otherStore.get(crop.key))!.equals((await store.get(crop.key))!)).toBe(true);
  });

  it('works with the tiny detector', async () => {
    const visual = await visualCues([frames.wide, frames.close, frames.grey], config({ detector: 'tiny' }));
    expect(visual.detector).toBe('tiny');
    expect(visual.frames.map((f) => f.faces > 0)).toEqual([true, true, false]);
    expect(visual.dominant).toBe('happy');
    expect(visual.crops).toHaveLength(2);
  });

  it('rejects a broken JPEG as a bad frame naming its key', async () => {
    const broken = await putJpeg('broken', (await store.get(frames.wide.key))!.subarray(0, 2000));
    const error = await visualCues([frames.wide, broken]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).reason).toBe('bad-frame');
    expect((error as RecordError).message).toContain(broken.key);
  });

  it('stops on abort and stays usable', async () => {
    const controller = new AbortController();
    const { ctx } = stageContext({ store, stage: 'cues.visual', signal: controller.signal });
    const running = cuesVisual.run(makeSegment([frames.wide, frames.close, frames.shifted]), config(), ctx);
    setTimeout(() => controller.abort(new Error('stop now')), 50);
    await expect(running).rejects.toThrow('stop now');

    const aborted = stageContext({ store, stage: 'cues.visual', signal: AbortSignal.abort(new Error('already')) });
    await expect(cuesVisual.run(makeSegment([frames.wide]), config(), aborted.ctx)).rejects.toThrow('already');

    expect((await visualCues([frames.wide])).dominant).toBe('happy');
  });

  it('names the option and value a bad config gets wrong', () => {
    expect(() => config({ tinyInputSize: 400 })).toThrow(/tinyInputSize|multiple/);
    expect(() => cuesVisual.configSchema.parse({ detector: 'mtcnn' })).toThrow(/detector/);
  });
});
