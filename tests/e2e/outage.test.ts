// An endpoint outage never removes rows. With the teacher answering 500 to everything (and its
// response cache missed, as after a temperature change): a first run publishes nothing and exits 3
// naming the teacher that failed; a refresh of a published corpus carries every row forward (with
// its media) instead of publishing an empty version; `publish.allowPartial` publishes anyway;
// `schedule --once` logs the incomplete refresh. Three clips, manifest transcripts, one store.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMediaIndex } from '../../pipelines/media/out-media.ts';
import { readRowsHyparquet } from '../../pipelines/parquet/read.ts';
import { cli, demoConfig, readJson, sampleClips, tempDir, writeConfig, type CliResult } from '../helpers.ts';
import { faults, OpenAICompatibleServer } from '../support/openai-server.ts';

const KEY_ENV = 'EMOFORGE_TEST_OUTAGE_KEY';
const CHAT = '/v1/chat/completions';

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
let input: string;

function config(temperature: number, top: Record<string, unknown> = {}) {
  const teachers = {
    teachers: {
      llm: {
        kind: 'openai',
        endpoint: {
          baseURL: server.baseURL,
          apiKeyEnv: KEY_ENV,
          model: 'outage-model',
          timeoutMs: 2000,
          maxRetries: 1,
          initialBackoffMs: 10,
          maxBackoffMs: 20,
        },
        params: { temperature },
      },
    },
    roles: { describe: 'llm', labels: 'llm', qa: 'llm', rationale: 'llm' },
  };
  // No face model: the outage is about teachers, and every row still names its video and audio.
  const cfg = demoConfig({ transcribe: { engine: 'manifest' }, segment: { strategy: 'whole', frames: 0 } }, { teachers, partitions: 2, ...top });
  return { ...cfg, stages: (cfg.stages as Record<string, unknown>[]).filter((s) => !('cues.visual' in s)) };
}

async function run(name: string, cfg: Record<string, unknown>, out: string, command: string[] = ['run']): Promise<CliResult> {
  const file = await writeConfig(await tempDir(`emoforge-outage-${name}-`), cfg);
  return cli([...command, file, '--input', input, '--out', out, '--store', join(work, 'store')]);
}

async function rowsOf(out: string): Promise<Record<string, unknown>[]> {
  const manifest = await readJson(join(out, 'manifest.json'));
  return (await Promise.all(manifest.shards.map((s: { file: string }) => readRowsHyparquet(join(out, s.file))))).flat();
}

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: 'sk-test-outage-51c2' });
  server.chat = { json: answer };
  process.env[KEY_ENV] = server.apiKey;
  work = await tempDir('emoforge-outage-');
  input = await sampleClips(3);
}, 120_000);
afterAll(async () => {
  await server.close();
});

function outage() {
  server.reset();
  server.failNext(faults.status(500), 100_000, CHAT);
}

describe('a teacher outage', () => {
  it('with no published version: publishes nothing, exits 3 naming the teacher, and says it called the teacher', async () => {
    outage();
    const out = join(work, 'fresh');
    const result = await run('fresh', config(0), out);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/incomplete: 3 records failed transiently; run again/);
    expect(result.stderr).toContain("teachers.teachers.llm.endpoint (model 'outage-model'");
    expect(result.stdout).not.toContain('everything came from the cache');
    expect(result.stdout).toMatch(/teacher calls [1-9]\d* \(\d+ generations failed\)/);
    expect(result.stdout).toMatch(/failed: teachers\.teachers\.llm\.endpoint .* in describe: service-unavailable for 3 records/);
    expect(
      await stat(join(out, 'manifest.json')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
  }, 240_000);

  it('on a published corpus: carries every row (and its media) forward instead of removing them', async () => {
    server.reset();
    const out = join(work, 'published');
    const first = await run('v1', config(0), out);
    expect(first.code, first.stderr).toBe(0);
    const before = await rowsOf(out);
    expect(before.length, first.stdout).toBeGreaterThan(0);

    outage();
    // A temperature change misses the response cache: every record needs the teacher, which is down.
    const second = await run('v2', config(0.3), out);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/carried: \d+ rows of 3 records that failed transiently kept from version 1/);
    expect(second.stdout).toMatch(/version 2 \(parent 1\): rows \+0 -0 ~0; .*; carried \d+/);
    const after = await rowsOf(out);
    expect(after.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    const manifest = await readJson(join(out, 'manifest.json'));
    expect(manifest.diff.carried).toBe(after.length);
    const stats = await readJson(join(out, 'stats.json'));
    expect(stats.totals.carried).toBe(after.length);
    expect(stats.totals.carriedRecords).toBe(3);
    // Every media file a carried row names is in the index and on disk.
    const index = await readMediaIndex(out);
    const named = new Set(
      after.flatMap((r) => [r.video, r.audio, ...(r.frames as string[]), ...(r.face_crops as string[])].filter((p): p is string => typeof p === 'string')),
    );
    expect(named.size).toBeGreaterThan(0);
    for (const file of named) {
      expect(index.has(file), file).toBe(true);
      expect((await stat(join(out, file))).isFile()).toBe(true);
    }

    // publish.allowPartial publishes what the run has: the rows go.
    outage();
    const partial = await run('partial', config(0.3, { publish: { allowPartial: true } }), out);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stdout).toMatch(new RegExp(`version 3 \\(parent 2\\): rows \\+0 -${after.length} `));
  }, 300_000);

  it('under schedule --once: the refresh is logged incomplete and the exit code says so', async () => {
    outage();
    const out = join(work, 'scheduled');
    const result = await run('schedule', config(0.7), out, ['schedule', '--once']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toMatch(
      /refresh test-corpus: incomplete, nothing published; .*3 records failed transiently \(describe: service-unavailable 3 \(teachers\.teachers\.llm\.endpoint .*\)\): retrying at the next trigger/,
    );
    const log = (await readdir(join(out, 'logs'))).find((f) => f.startsWith('schedule-'))!;
    const logs = await readFile(join(out, 'logs', log), 'utf8');
    expect(logs).toContain('refresh incomplete: records failed transiently');
  }, 240_000);
});
