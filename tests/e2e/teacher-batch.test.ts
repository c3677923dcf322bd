// Batch mode: teachers send through the OpenAI Batch API of the local server (files upload, batch
// create, polling, output and error files). Each role's requests go in one batch per pass; answers
// land in the response cache; a re-run makes no request at all; a run that stops while batches are
// open resumes without submitting them again; failed lines, expired batches and requests that keep
// failing end as they should.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TeacherUsageTable } from '../../pipelines/teachers/usage.ts';
import { demoConfig, runInProcess, sampleClips, tempDir } from '../helpers.ts';
import { realisticAnswer } from '../support/answer-model.ts';
import { OpenAICompatibleServer } from '../support/openai-server.ts';

const KEY_ENV = 'EMOFORGE_TEST_BATCH_KEY';
const PRICES = { inputPerMTokUSD: 2, outputPerMTokUSD: 8 };
const ROLES = ['describe', 'labels', 'qa', 'rationale'];

let server: OpenAICompatibleServer;
let work: string;
let input: string;

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: 'sk-test-batch-77aa' });
  process.env[KEY_ENV] = server.apiKey;
  work = await tempDir('emoforge-batch-');
  input = await sampleClips(4);
});
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});
beforeEach(() => {
  server.reset();
  server.chat = { json: realisticAnswer };
  server.batch = { pollsToComplete: 2 };
  server.batchUsage.length = 0;
});

function config(batch: Record<string, unknown> = {}): Record<string, unknown> {
  return demoConfig(
    { transcribe: { engine: 'manifest' }, 'cues.visual': false },
    {
      teachers: {
        teachers: {
          llm: {
            kind: 'openai',
            endpoint: { baseURL: server.baseURL, apiKeyEnv: KEY_ENV, model: 'batch-model', maxRetries: 2, initialBackoffMs: 10 },
            prices: PRICES,
            batch: { pollIntervalMs: 20, ...batch },
          },
        },
        roles: Object.fromEntries(ROLES.map((r) => [r, 'llm'])),
      },
    },
  );
}

const count = (method: string, path: string) => server.requestsTo(path).filter((r) => r.method === method).length;
const sum = (usage: TeacherUsageTable, key: 'calls' | 'inputTokens' | 'outputTokens' | 'usd') =>
  Object.values(usage)
    .flatMap((t) => Object.values(t))
    .reduce((n, u) => n + u[key], 0);
const roleOf = (body: any) => String(body.response_format?.json_schema?.name ?? '').replace(/^emoforge_/, '');

describe('teachers in batch mode', () => {
  it('answers every role through batches at the batch price, then re-runs with no request at all', async () => {
    const store = join(work, 'store-a');
    const run = await runInProcess(config(), { input, out: join(work, 'out-a'), store });
    expect(run.summary.segments).toBe(4);
    expect(run.summary.sink).toBeDefined();
    // describe → labels → qa → rationale: one batch each, then a pass that publishes.
    expect(run.summary.batches).toEqual({ passes: 5, submitted: 16, waiting: false });
    expect(count('POST', '/v1/chat/completions')).toBe(0);
    expect(count('POST', '/v1/files')).toBe(4);
    expect(count('POST', '/v1/batches')).toBe(4);
    const uploads = server.requestsTo('/v1/files').map((r) => r.fields?.purpose?.[0]);
    expect(uploads).toEqual(['batch', 'batch', 'batch', 'batch']);
    // Cost: the tokens the batch outputs reported, at half the configured prices.
    const inTokens = server.batchUsage.reduce((n, b) => n + b.usage!.prompt_tokens, 0);
    const outTokens = server.batchUsage.reduce((n, b) => n + b.usage!.completion_tokens, 0);
    expect(server.batchUsage).toHaveLength(16);
    expect(sum(run.summary.teacherUsage, 'calls')).toBe(16);
    expect(sum(run.summary.teacherUsage, 'inputTokens')).toBe(inTokens);
    expect(sum(run.summary.teacherUsage, 'outputTokens')).toBe(outTokens);
    expect(sum(run.summary.teacherUsage, 'usd')).toBeCloseTo(((inTokens * PRICES.inputPerMTokUSD + outTokens * PRICES.outputPerMTokUSD) / 1e6) * 0.5, 10);

    server.reset();
    const again = await runInProcess(config(), { input, out: join(work, 'out-a2'), store });
    expect(again.summary.segments).toBe(4);
    expect(server.requestsTo()).toHaveLength(0);
    expect(again.summary.batches).toEqual({ passes: 1, submitted: 0, waiting: false });
  }, 300_000);

  it('resumes open batches after a stop without submitting them again', async () => {
    const store = join(work, 'store-b');
    server.batch = { pollsToComplete: 3 };
    const stopped = await runInProcess(config(), { input, out: join(work, 'out-b'), store }, { waitForBatches: false });
    expect(stopped.summary.sink).toBeUndefined();
    expect(stopped.summary.batches).toEqual({ passes: 1, submitted: 4, waiting: true });
    expect(count('POST', '/v1/batches')).toBe(1);

    // The next run finds the open batch in the store: its 4 describe requests are not resubmitted.
    const resumed = await runInProcess(config(), { input, out: join(work, 'out-b'), store });
    expect(resumed.summary.segments).toBe(4);
    expect(count('POST', '/v1/batches')).toBe(4);
    const submittedIds = server.requestsTo('/v1/files').length;
    expect(submittedIds).toBe(4);
    expect(new Set(server.batchUsage.map((b) => b.customId)).size).toBe(16);
    expect(server.batchUsage).toHaveLength(16);
  }, 300_000);

  it('resubmits failed lines and the unanswered half of an expired batch; a request that keeps failing drops its record', async () => {
    const store = join(work, 'store-c');
    let flaky: string | undefined;
    let doomed: string | undefined;
    let flakyFailures = 0;
    server.batch = {
      pollsToComplete: 1,
      outcomes: ['expired'],
      errorFor: (id, body) => {
        if (roleOf(body) !== 'labels') return false;
        doomed ??= id;
        if (id === doomed) return true;
        flaky ??= id;
        return id === flaky && flakyFailures++ === 0;
      },
    };
    const run = await runInProcess(config({ maxAttempts: 2 }), { input, out: join(work, 'out-c'), store });
    // teacher-batch-failed is transient: with no published version to keep the record's rows from, nothing is published.
    expect(run.summary.sink).toBeUndefined();
    expect(run.summary.incomplete).toMatchObject({ records: 1, failed: [{ stage: 'labels', reason: 'teacher-batch-failed', records: 1 }] });
    expect(run.summary.segments).toBe(3);
    expect(run.summary.stats.labels.dropped).toEqual({ 'teacher-batch-failed': 1 });
    expect(flakyFailures).toBe(2); // failed once, answered on its second submission
    // Nothing answered was asked twice.
    const answered = server.batchUsage.map((b) => b.customId);
    expect(new Set(answered).size).toBe(answered.length);
    // 4 descriptions (2 from the expired batch, 2 resubmitted), 3 labels (one never), 3 qa, 3 rationales.
    expect(answered).toHaveLength(4 + 3 + 3 + 3);

    // A later run tries the failed request again (once the provider answers it, the record is written).
    server.reset();
    server.batch = { pollsToComplete: 1 };
    const later = await runInProcess(config({ maxAttempts: 2 }), { input, out: join(work, 'out-c'), store });
    expect(later.summary.sink).toBeDefined();
    expect(later.summary.segments).toBe(4);
    expect(count('POST', '/v1/batches')).toBe(3); // the labels request, then its record's qa and rationale
  }, 300_000);
});
