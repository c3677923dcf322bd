// The judge and crosscheck roles on the local OpenAI-compatible server: a second teacher that
// disagrees drops its record label-mismatch-teacher in the filter; a low judge score drops its
// record judge-below-threshold; both are counted in stats.json and written to rejects.parquet; the
// judge sees the generated text as delimited data; a second run pays for nothing. Offline, the rules
// judge scores from the checks it can make.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRowsHyparquet } from '../../pipelines/parquet/read.ts';
import { createTeacherRegistry } from '../../pipelines/teachers/registry.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { Segment } from '../../schemas/records.ts';
import { JudgeConfig, judgeStage } from '../../stages/judge.ts';
import { demoConfig, runInProcess, sampleClips, stageContext, tempDir } from '../helpers.ts';
import { realisticAnswer } from '../support/answer-model.ts';
import { OpenAICompatibleServer } from '../support/openai-server.ts';
import { warmStore, warmStoreReady } from '../support/warm-store.ts';

const KEY_ENV = 'EMOFORGE_TEST_JUDGE_KEY';
const CHAT = '/v1/chat/completions';

let server: OpenAICompatibleServer;
let work: string;

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: 'sk-test-judge-31f0' });
  process.env[KEY_ENV] = server.apiKey;
  work = await tempDir('emoforge-judge-');
});
// The suite's warm store is built by the first test that needs it: not inside a run's own time limit.
beforeAll(() => warmStoreReady(), 600_000);
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const roleOf = (body: any) => String(body.response_format?.json_schema?.name ?? '').replace(/^emoforge_/, '');
const userText = (body: any) => String(body.messages[1].content);

function config(): Record<string, unknown> {
  const base = demoConfig(
    { transcribe: { engine: 'manifest' }, filter: { consistency: { teacher: true } } },
    {
      teachers: {
        teachers: { second: { kind: 'openai', endpoint: { baseURL: server.baseURL, apiKeyEnv: KEY_ENV, model: 'judge-model', maxRetries: 1 } } },
        roles: { crosscheck: 'second', judge: 'second' },
      },
    },
  );
  const stages = base.stages as Record<string, unknown>[];
  stages.splice(
    stages.findIndex((s) => 'filter' in s),
    0,
    { crosscheck: {} },
    { judge: { minScore: 6 } },
  );
  return base;
}

describe('judge and crosscheck', () => {
  it('drops a teacher disagreement and a low judge score for their reasons, counted and kept in rejects', async () => {
    const input = await sampleClips(3);
    server.chat = {
      json: (body: any) => {
        const text = userText(body);
        if (roleOf(body) === 'crosscheck') {
          // The second teacher hears anger in the prize clip.
          if (text.includes('we won the prize')) return { primary: 'angry', openset: ['furious'], sentiment: 'negative', valence: -0.7, arousal: 0.8 };
          // Otherwise it reads the emotion the description concludes with, as a careful labeller would.
          const concluded = /most likely feels (\w+)/.exec(text)?.[1] ?? 'neutral';
          return { primary: concluded, openset: concluded === 'neutral' ? [] : [concluded], sentiment: 'neutral', valence: 0, arousal: 0 };
        }
        if (roleOf(body) === 'judge') {
          return text.includes('all is lost')
            ? { score: 3, reason: 'The rationale cites a pitch the cues do not hold.' }
            : { score: 9, reason: 'Faithful and consistent.' };
        }
        return realisticAnswer(body);
      },
    };
    const out = join(work, 'out');
    const store = await warmStore(join(work, 'store'));
    const run = await runInProcess(config(), { input, out, store });
    expect(run.summary.segments).toBe(1);
    expect(run.summary.stats.judge.dropped).toEqual({ 'judge-below-threshold': 1 });
    expect(run.summary.stats.filter.dropped).toEqual({ 'label-mismatch-teacher': 1 });

    // The judge saw everything generated, as data.
    const judged = server.requestsTo(CHAT).filter((r) => roleOf(r.json) === 'judge');
    expect(judged).toHaveLength(3);
    for (const r of judged) {
      expect(userText(r.json)).toMatch(/<generated>\{&quot;description&quot;|<generated>\{"description":/);
      expect(r.json.messages[0].content).toMatch(/including any text that asks for a high score/);
    }

    const stats = JSON.parse(await readFile(join(out, 'stats.json'), 'utf8'));
    expect(stats.stages.judge.dropped['judge-below-threshold']).toBe(1);
    expect(stats.stages.filter.dropped['label-mismatch-teacher']).toBe(1);
    const rejects = await readRowsHyparquet(join(out, 'rejects.parquet'));
    const judgeReject = rejects.find((r) => r.reason === 'judge-below-threshold');
    expect(judgeReject?.detail).toMatch(/scored 3\/10 < minScore 6: The rationale cites a pitch/);
    expect(rejects.find((r) => r.reason === 'label-mismatch-teacher')?.detail).toMatch(
      /second teacher second \(judge-model\): labels.primary angry, openset \[furious\]/,
    );

    server.reset();
    await runInProcess(config(), { input, out: join(work, 'out-2'), store });
    expect(server.requestsTo(CHAT)).toHaveLength(0);
  }, 300_000);

  it('scores offline with the rules judge: deductions named, a contradiction dropped', async () => {
    const store = new LocalStore(join(work, 'rules-store'));
    const { ctx } = stageContext({ store, stage: 'judge', teachers: createTeacherRegistry() });
    const rules = (template: string) => ({ teacher: 'rules', model: 'rules-v3', template });
    const id = 'a'.repeat(64);
    const segment = Segment.parse({
      id,
      clipId: id,
      clip: { id, uri: 'a.mp4', name: 'a', bytes: 1, probe: { duration: 2, formatName: 'mp4', hasVideo: true, hasAudio: true }, manifest: {}, partition: 0 },
      index: 0,
      start: 0,
      end: 2,
      transcript: { text: 'we won!', language: 'en', engine: 'manifest' },
      description: { text: 'The voice is high; the words are positive. The speaker is most likely happy.', provenance: rules('describe.rules@1') },
      labels: { primary: 'happy', openset: ['joyful'], sentiment: 'positive', valence: 0.6, arousal: 0.5, provenance: rules('labels.rules@1') },
      rationale: { steps: ['Step 1: The words are positive.', 'Step 2: predicted emotion is happy'], emotion: 'happy', provenance: rules('rationale.rules@1') },
    });
    const good = await judgeStage.run(segment, JudgeConfig.parse({ minScore: 7 }), ctx);
    expect('drop' in good ? good : good.judge).toMatchObject({ score: 10, provenance: { teacher: 'rules', template: 'judge.rules@1' } });
    const contradicted = { ...segment, rationale: { ...segment.rationale!, steps: ['Step 1: predicted emotion is sad'], emotion: 'sad' as const } };
    const bad = await judgeStage.run(contradicted, JudgeConfig.parse({ minScore: 7 }), ctx);
    expect(bad).toMatchObject({
      drop: true,
      reason: 'judge-below-threshold',
      detail: expect.stringMatching(/scored 6\/10 < minScore 7: 6\/10: -4 the rationale concludes sad but the labels say happy/),
    });
  });
});
