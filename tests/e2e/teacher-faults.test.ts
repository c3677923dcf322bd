// LLM teachers when the endpoint misbehaves: 429 with Retry-After, 5xx, a hang past the timeout, a
// malformed or cut-off body, a dropped connection. Each is retried and recovered (or, when retries
// run out, that one record fails with a reason) and the run never dies. Then a whole pipeline run
// on the LLM teachers, and a second run that makes no HTTP request at all.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EndpointRetryableError } from '../../pipelines/endpoints/index.ts';
import { readRowsHyparquet } from '../../pipelines/parquet/read.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { createTeacherRegistry, type TeachersConfigInput } from '../../pipelines/teachers/registry.ts';
import { Segment } from '../../schemas/records.ts';
import { describeStage } from '../../stages/describe.ts';
import { demoConfig, runInProcess, sampleClips, stageContext, tempDir } from '../helpers.ts';
import { realisticAnswer } from '../support/answer-model.ts';
import { warmStore, warmStoreReady } from '../support/warm-store.ts';
import { faults, OpenAICompatibleServer, type Fault } from '../support/openai-server.ts';
import type { TeacherUsageTable } from '../../pipelines/teachers/usage.ts';

const KEY_ENV = 'EMOFORGE_TEST_FAULTS_KEY';
const CHAT = '/v1/chat/completions';
const ROLES = ['describe', 'labels', 'qa', 'rationale'];

/** A valid answer per role (the structured-output name says which). */
function answer(body: any): unknown {
  const role = String(body.response_format?.json_schema?.name ?? '').replace(/^emoforge_/, '');
  const labels: string[] = JSON.parse(/Label set \(options must come from it\): (\[.*\])/.exec(body.messages[1].content)?.[1] ?? '[]');
  switch (role) {
    case 'describe':
      return { text: 'The face looks calm; the voice is steady at a moderate level; the words are neutral. The speaker is most likely neutral.' };
    case 'labels':
      return { primary: 'neutral', openset: [], sentiment: 'neutral', valence: 0, arousal: -0.1 };
    case 'qa':
      return {
        items: [
          {
            kind: 'mcq',
            question: `Which emotion does the speaker most likely feel? Choose one of: ${labels.slice(0, 4).join(', ')}.`,
            options: labels.slice(0, 4),
            answer: labels[0],
          },
          { kind: 'open', question: 'Why does the person most likely feel neutral?', answer: 'The face and the voice stay calm.' },
        ],
      };
    default:
      return { steps: ['Step 1: The face shows no strong expression.', 'Step 2: predicted emotion is neutral'], emotion: 'neutral' };
  }
}

let server: OpenAICompatibleServer;
let work: string;

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: 'sk-test-faults-93b1' });
  process.env[KEY_ENV] = server.apiKey;
  work = await tempDir('emoforge-teacher-faults-');
});
// The suite's warm store is built by the first test that needs it: not inside a run's own time limit.
beforeAll(() => warmStoreReady(), 600_000);
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});
beforeEach(() => {
  server.reset();
  server.chat = { json: answer };
});

function teachers(endpoint: Record<string, unknown> = {}): TeachersConfigInput {
  return {
    teachers: {
      llm: {
        kind: 'openai',
        endpoint: {
          baseURL: server.baseURL,
          apiKeyEnv: KEY_ENV,
          model: 'faulty-model',
          timeoutMs: 400,
          maxRetries: 3,
          initialBackoffMs: 20,
          maxBackoffMs: 2000,
          ...endpoint,
        },
        prices: { inputPerMTokUSD: 1, outputPerMTokUSD: 2 },
      },
    },
    roles: Object.fromEntries(ROLES.map((role) => [role, 'llm'])),
  } as TeachersConfigInput;
}

function segment(n: number): Segment {
  const id = n.toString(16).padStart(64, '0');
  return Segment.parse({
    id,
    clipId: id,
    clip: {
      id,
      uri: `c${n}.mp4`,
      name: `c${n}`,
      bytes: 1,
      probe: { duration: 2, formatName: 'mp4', hasVideo: true, hasAudio: true },
      manifest: {},
      partition: 0,
    },
    index: 0,
    start: 0,
    end: 2,
    transcript: { text: `Sentence number ${n}.`, language: 'en', engine: 'manifest' },
  });
}

describe('teacher requests under endpoint faults', () => {
  const cases: [string, Fault, number][] = [
    ['429 with Retry-After: 1', faults.rateLimited(1), 1],
    ['500', faults.status(500), 2],
    ['503 twice', faults.status(503), 3],
    ['a hang past the 400 ms timeout', faults.hang(), 4],
    ['a malformed JSON body', faults.invalidJson(), 5],
    ['a body cut off mid-way', faults.truncated(), 6],
    ['a dropped connection', faults.drop(), 7],
  ];
  for (const [name, fault, n] of cases) {
    it(`recovers from ${name}`, async () => {
      const store = new LocalStore(join(work, `store-fault-${n}`));
      const registry = createTeacherRegistry(teachers(), { store });
      const { ctx } = stageContext({ store, stage: 'describe', teachers: registry });
      const times = name.includes('twice') ? 2 : 1;
      server.failNext(fault, times, CHAT);
      const started = performance.now();
      const result = await describeStage.run(segment(n), describeStage.configSchema.parse({}), ctx);
      const waited = performance.now() - started;
      expect(result).toMatchObject({
        description: { text: expect.stringContaining('most likely neutral'), provenance: { teacher: 'llm', model: 'faulty-model' } },
      });
      expect(server.requestsTo(CHAT).map((r) => r.outcome)).toEqual([
        ...Array(times).fill(fault.kind === 'status' ? `status:${fault.status}` : fault.kind),
        'ok',
      ]);
      expect(registry.usage?.().describe.llm).toMatchObject({ calls: times + 1, retries: times, answers: 1, failures: 0 });
      if (fault.kind === 'status' && fault.status === 429) expect(waited).toBeGreaterThanOrEqual(950);
      if (fault.kind === 'hang') expect(waited).toBeGreaterThanOrEqual(380);
    });
  }

  it('fails only that record, with the reason, when retries run out; the next record is answered', async () => {
    const store = new LocalStore(join(work, 'store-exhausted'));
    const registry = createTeacherRegistry(teachers({ maxRetries: 1 }), { store });
    const { ctx } = stageContext({ store, stage: 'describe', teachers: registry });
    server.failNext(faults.status(502), 2, CHAT);
    const error = await describeStage.run(segment(20), describeStage.configSchema.parse({}), ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointRetryableError);
    expect((error as Error).message).toMatch(/502 .*gave up after 2 attempt\(s\) \(teachers\.teachers\.llm\.endpoint\.maxRetries is 1\)/);
    await expect(describeStage.run(segment(21), describeStage.configSchema.parse({}), ctx)).resolves.toHaveProperty('description');
    expect(registry.usage?.().describe.llm).toMatchObject({ calls: 3, retries: 1, answers: 1, failures: 1 });
  });
});

describe('a pipeline run on LLM teachers', () => {
  it('writes every clip through a faulty endpoint, and a second run makes no HTTP request', async () => {
    const input = await sampleClips(3);
    const store = await warmStore(join(work, 'run-store'));
    // A whole pipeline runs beside the server in this process: under load an answer can take longer
    // than the 400 ms the unit cases use, which would add retries the test does not plant.
    const config = demoConfig({ transcribe: { engine: 'manifest' } }, { teachers: teachers({ timeoutMs: 3000 }) });
    // Transient faults spread over the run's requests: each is retried and recovered. `distinct`:
    // each fails a different request, also when one request is all the run has in flight (a slow
    // machine); else a lone request's retries would take all five and run out (maxRetries 3).
    const distinct = { distinct: true };
    server
      .failNext(faults.rateLimited(1), 1, CHAT, distinct)
      .failNext(faults.status(500), 1, CHAT, distinct)
      .failNext(faults.hang(), 1, CHAT, distinct)
      .failNext(faults.invalidJson(), 1, CHAT, distinct)
      .failNext(faults.truncated(), 1, CHAT, distinct);

    const first = await runInProcess(config, { input, out: join(work, 'out-1'), store });
    const requests = server.requestsTo(CHAT);
    const answered = requests.filter((r) => r.outcome === 'ok');
    console.info(
      `LLM pipeline run: ${first.summary.segments} segments, ${requests.length} chat requests (${answered.length} answered, ${requests.length - answered.length} faults), ${Math.round(first.summary.wallMs)} ms`,
    );
    // Named by stage and reason, so a failure says what dropped.
    const dropped = Object.entries(first.summary.stats).flatMap(([stage, s]) => Object.entries(s.dropped).map(([reason, n]) => `${stage}: ${reason} x${n}`));
    expect(dropped).toEqual([]);
    expect(first.summary.drops).toBe(0);
    expect(first.summary.segments).toBe(3);
    // Every role answered every segment; identical prompts (two clips' MCQ, say) share one cached request.
    const usageRows = Object.values(first.summary.teacherUsage).flatMap((byTeacher) => Object.values(byTeacher));
    expect(usageRows.reduce((n, u) => n + u.answers, 0)).toBe(3 * ROLES.length);
    expect(answered.length + usageRows.reduce((n, u) => n + u.cacheHits, 0)).toBe(3 * ROLES.length);
    expect(requests.length - answered.length).toBe(5);
    // Stage work counts answers that were not served from the response cache.
    expect(ROLES.reduce((n, role) => n + (first.summary.stats[role].work.teacher ?? 0), 0)).toBe(answered.length);
    expect(new Set(requests.map((r) => r.apiKey))).toEqual(new Set([server.apiKey]));
    // The run's teacher usage counts every HTTP request and retry, and lands in stats.json.
    const usage = Object.values(first.summary.teacherUsage).flatMap((byTeacher) => Object.values(byTeacher));
    expect(usage.reduce((n, u) => n + u.calls, 0)).toBe(requests.length);
    expect(usage.reduce((n, u) => n + u.retries, 0)).toBe(5);
    const stats = JSON.parse(await readFile(join(work, 'out-1', 'stats.json'), 'utf8'));
    expect(stats.teachers).toEqual(JSON.parse(JSON.stringify(first.summary.teacherUsage)));

    const shards = (await readdir(join(work, 'out-1'), { recursive: true })).filter((f) => f.endsWith('.parquet') && !f.includes('reject'));
    const rows = (await Promise.all(shards.map((f) => readRowsHyparquet(join(work, 'out-1', f))))).flat();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))).toContain('faulty-model');

    server.reset();
    const second = await runInProcess(config, { input, out: join(work, 'out-2'), store });
    expect(server.requestsTo(CHAT)).toHaveLength(0);
    expect(server.requests).toHaveLength(0);
    expect(second.summary.segments).toBe(3);
  }, 300_000);

  it('stops paying at budget.maxUSD: later records are dropped budget-exhausted, and a re-run with more budget pays only for them', async () => {
    const input = await sampleClips(3);
    const store = await warmStore(join(work, 'budget-store'));
    server.reset();
    // One answered request costs well over the cap, so the run stops paying after the first ones.
    // budget-exhausted is transient: allowPartial publishes the records the budget paid for (else nothing is published until a run completes).
    const config = demoConfig(
      { transcribe: { engine: 'manifest' } },
      { teachers: teachers({ limits: { concurrency: 1 } }), budget: { maxUSD: 1e-6 }, concurrency: 1, publish: { allowPartial: true } },
    );
    const first = await runInProcess(config, { input, out: join(work, 'budget-1'), store });
    const paid = server
      .requestsTo(CHAT)
      .filter((r) => r.outcome === 'ok')
      .map((r) => JSON.stringify(r.json.messages));
    expect(paid.length).toBeGreaterThanOrEqual(1);
    expect(paid.length).toBeLessThan(3 * ROLES.length);
    const exhausted = Object.values(first.summary.stats).reduce((n, s) => n + (s.dropped['budget-exhausted'] ?? 0), 0);
    expect(exhausted).toBeGreaterThanOrEqual(1);
    expect(first.summary.segments + exhausted).toBe(3);
    const rejects = await readRowsHyparquet(join(work, 'budget-1', 'rejects.parquet'));
    expect(rejects.filter((r) => r.reason === 'budget-exhausted')).toHaveLength(exhausted);

    server.reset();
    const second = await runInProcess({ ...config, budget: undefined }, { input, out: join(work, 'budget-2'), store });
    expect(second.summary.segments).toBe(3);
    const again = server.requestsTo(CHAT).map((r) => JSON.stringify(r.json.messages));
    // Nothing already paid for is asked again.
    for (const body of again) expect(paid).not.toContain(body);
  }, 300_000);

  it('projects tokens and dollars with --dry-run, calling nothing, within 10% of what the real run on the demo corpus then reports', async () => {
    // The demo corpus, answered by a model whose answers have a GPT-4o-class teacher's lengths.
    const input = await sampleClips(12);
    const store = await warmStore(join(work, 'dry-store'));
    const config = demoConfig({ transcribe: { engine: 'manifest' } }, { teachers: teachers() });
    server.chat = { json: realisticAnswer };
    const tokensOf = (usage: TeacherUsageTable) =>
      Object.values(usage)
        .flatMap((t) => Object.values(t))
        .reduce((n, u) => n + u.inputTokens + u.outputTokens, 0);
    const usdOf = (usage: TeacherUsageTable) =>
      Object.values(usage)
        .flatMap((t) => Object.values(t))
        .reduce((n, u) => n + u.usd, 0);

    // 1. A first dry run knows nothing of this teacher's answers: output lengths from the stand-ins.
    const first = await runInProcess(config, { input, out: join(work, 'dry-out'), store }, { dryRun: true });
    expect(server.requestsTo(CHAT)).toHaveLength(0);
    expect(first.summary.sink).toBeUndefined();
    expect(Object.values(first.summary.projectionBasis ?? {}).every((b) => b.basis === 'stand-in')).toBe(true);
    expect(
      Object.values(first.summary.teacherUsage)
        .flatMap((t) => Object.values(t))
        .reduce((n, u) => n + u.answers, 0),
    ).toBe(12 * ROLES.length);

    // 2. A real run on 3 clips (a user trying the teacher out) pays for 3 answers per role...
    await runInProcess(config, { input, out: join(work, 'pilot-out'), store }, { limit: 3 });
    const pilotCalls = server.requestsTo(CHAT).length;
    expect(pilotCalls).toBe(3 * ROLES.length);
    // ...after which a dry run projects from those answers. (Those 3 answers are not reused: the
    // agreement cues use per-speaker baselines over the whole corpus, so the full run's prompts differ.)
    const second = await runInProcess(config, { input, out: join(work, 'dry-out-2'), store }, { dryRun: true });
    expect(server.requestsTo(CHAT)).toHaveLength(pilotCalls);
    expect(Object.values(second.summary.projectionBasis ?? {}).every((b) => b.basis === 'observed' && b.observedAnswers === 3)).toBe(true);
    for (const role of ROLES) expect(second.summary.teacherUsage[role].llm).toMatchObject({ calls: 12, cacheHits: 0 });

    // 3. The real run: every role is really asked (the dry runs' stand-in text was never cached).
    server.reset();
    const real = await runInProcess(config, { input, out: join(work, 'real-out'), store });
    expect(real.summary.segments).toBe(12);
    const reported = server.requestsTo(CHAT).filter((r) => r.reportedUsage);
    expect(reported).toHaveLength(12 * ROLES.length);
    const realTokens = reported.reduce((n, r) => n + r.reportedUsage!.prompt_tokens + r.reportedUsage!.completion_tokens, 0);
    // Cost totals are the sum of the usage the server reported.
    expect(tokensOf(real.summary.teacherUsage)).toBe(realTokens);

    const projected = tokensOf(second.summary.teacherUsage);
    const standIn = tokensOf(first.summary.teacherUsage);
    console.info(
      `dry-run on the demo corpus: projected ${projected} tokens ($${usdOf(second.summary.teacherUsage).toFixed(6)}) from 3 observed answers per role; ` +
        `the real run reported ${realTokens} tokens ($${usdOf(real.summary.teacherUsage).toFixed(6)}); error ${(((projected - realTokens) / realTokens) * 100).toFixed(1)}%. ` +
        `Before any answer was observed (stand-in lengths): ${Math.round(standIn)} tokens, error ${(((standIn - realTokens) / realTokens) * 100).toFixed(1)}%`,
    );
    expect(Math.abs(projected - realTokens) / realTokens).toBeLessThanOrEqual(0.1);
    // The describe prompts depend on nothing generated: their input projection is the tokenizer's own.
    const describeReal = reported
      .filter((r) => r.json?.response_format?.json_schema?.name === 'emoforge_describe')
      .reduce((n, r) => n + r.reportedUsage!.prompt_tokens, 0);
    expect(Math.abs(second.summary.teacherUsage.describe.llm.inputTokens - describeReal) / describeReal).toBeLessThanOrEqual(0.02);
  }, 600_000);
});
