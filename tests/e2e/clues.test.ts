// The optional clues stage: the vision role sees 3-8 keyframes in temporal order as images, the
// audio role hears the segment's WAV, and describe receives both texts as escaped data. Runs on the
// local OpenAI-compatible server (real HTTP, real ffmpeg keyframes and WAVs) and offline on rules.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evenlyChosen } from '../../stages/clues.ts';
import { demoConfig, runInProcess, sampleClips, tempDir } from '../helpers.ts';
import { realisticAnswer } from '../support/answer-model.ts';
import { OpenAICompatibleServer } from '../support/openai-server.ts';

const KEY_ENV = 'EMOFORGE_TEST_CLUES_KEY';
const CHAT = '/v1/chat/completions';

let server: OpenAICompatibleServer;
let work: string;

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: 'sk-test-clues-5c1d' });
  process.env[KEY_ENV] = server.apiKey;
  work = await tempDir('emoforge-clues-');
});
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

/** The demo pipeline with the clues stage before describe; 5 keyframes a segment. */
function cluesConfig(teachers?: Record<string, unknown>, clues: Record<string, unknown> = {}): Record<string, unknown> {
  const config = demoConfig({ segment: { frames: 5 }, transcribe: { engine: 'manifest' } }, teachers ? { teachers } : {});
  const stages = config.stages as Record<string, unknown>[];
  const at = stages.findIndex((s) => 'describe' in s);
  stages.splice(at, 0, { clues: { minFrames: 3, maxFrames: 4, ...clues } });
  return config;
}

const roleOf = (body: any) => String(body.response_format?.json_schema?.name ?? '').replace(/^emoforge_/, '');

describe('clues stage', () => {
  it('chooses frames evenly, first and last included, in order', () => {
    expect(evenlyChosen([0, 1, 2, 3, 4], 4)).toEqual([0, 1, 3, 4]);
    expect(evenlyChosen([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)).toEqual([0, 5, 9]);
    expect(evenlyChosen([0, 1], 8)).toEqual([0, 1]);
  });

  it('sends keyframes as images and the WAV as input_audio, and describe merges the clue texts', async () => {
    const input = await sampleClips(3);
    const store = join(work, 'store');
    const teachers = {
      teachers: { llm: { kind: 'openai', endpoint: { baseURL: server.baseURL, apiKeyEnv: KEY_ENV, model: 'omni-test', timeoutMs: 5000, maxRetries: 2 } } },
      roles: { vision: 'llm', audio: 'llm', describe: 'llm' },
    };
    server.chat = { json: realisticAnswer };
    const run = await runInProcess(cluesConfig(teachers), { input, out: join(work, 'out'), store });
    expect(run.summary.segments).toBe(3);
    expect(run.summary.stats.clues).toMatchObject({ in: 3, out: 3 });

    const requests = server.requestsTo(CHAT).map((r) => r.json);
    const vision = requests.filter((b) => roleOf(b) === 'vision');
    const audio = requests.filter((b) => roleOf(b) === 'audio');
    const describeRequests = requests.filter((b) => roleOf(b) === 'describe');
    expect([vision.length, audio.length, describeRequests.length]).toEqual([3, 3, 3]);

    for (const body of vision) {
      const parts = body.messages[1].content as any[];
      const images = parts.filter((p) => p.type === 'image_url');
      expect(images).toHaveLength(4);
      for (const image of images) {
        expect(image.image_url.detail).toBe('low');
        const jpeg = Buffer.from(image.image_url.url.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
        expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
      }
      // The described face's peak-expression frame first, named so, then keyframes in temporal order, as the prompt lists them.
      const listed = [...String(parts[0].text).matchAll(/image \d+( \(the peak expression\))? at ([\d.]+) s/g)];
      expect(listed).toHaveLength(4);
      expect(listed.map((m) => m[1] !== undefined)).toEqual([true, false, false, false]);
      const times = listed.slice(1).map((m) => Number(m[2]));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(body.messages[0].content).toMatch(/Never describe or guess who the person is/);
    }
    for (const body of audio) {
      const parts = body.messages[1].content as any[];
      const sound = parts.find((p) => p.type === 'input_audio');
      expect(sound.input_audio.format).toBe('wav');
      const wav = Buffer.from(sound.input_audio.data, 'base64');
      expect([wav.subarray(0, 4).toString(), wav.subarray(8, 12).toString()]).toEqual(['RIFF', 'WAVE']);
    }
    // Describe sees both clue texts as data, with the vision model's words.
    for (const body of describeRequests) {
      const user = String(body.messages[1].content);
      expect(user).toMatch(/<visual_clues>[^<]{40,}<\/visual_clues>/);
      expect(user).toMatch(/<audio_clues>[^<]{40,}<\/audio_clues>/);
    }
    // Images are counted at their flat rate in the teacher table's input tokens.
    expect(run.summary.teacherUsage.vision.llm.inputTokens).toBeGreaterThan(3 * 4 * 85);

    // A second run pays for nothing.
    server.reset();
    await runInProcess(cluesConfig(teachers), { input, out: join(work, 'out-2'), store });
    expect(server.requestsTo(CHAT)).toHaveLength(0);
  }, 300_000);
});
