// Config validation happens before anything runs, and every message names the YAML path.
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../pipelines/config.ts';
import { ConfigError } from '../../pipelines/errors.ts';
import { STAGES } from '../../stages/index.ts';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { demoConfig, REPO } from '../helpers.ts';

function problems(raw: unknown): string[] {
  try {
    buildPlan('c.yaml', raw, STAGES);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('config validation', () => {
  it('accepts the demo shape and fingerprints stages in a chain', () => {
    const plan = buildPlan('c.yaml', demoConfig(), STAGES);
    expect(plan.records.map((p) => p.stage.name)).toEqual([
      'segment',
      'transcribe',
      'cues.visual',
      'cues.acoustic',
      'cues.lexical',
      'describe',
      'labels',
      'qa',
      'rationale',
      'filter',
    ]);
    const changed = buildPlan('c.yaml', demoConfig({ qa: { labelSet: ['a', 'b', 'c', 'd'] } }), STAGES);
    const same = (i: number) => plan.records[i].fingerprint === changed.records[i].fingerprint;
    expect([0, 1, 2, 3, 4, 5, 6].every(same)).toBe(true);
    expect([7, 8, 9].some(same)).toBe(false);
    // Concurrency is a throughput knob: it never changes a fingerprint.
    expect(buildPlan('c.yaml', demoConfig({}, { concurrency: 7 }), STAGES).fingerprint).toBe(plan.fingerprint);
  });

  it('leaves endpoint throughput settings out of fingerprints, but not the model', () => {
    const endpoint = { baseURL: 'http://127.0.0.1:9/v1', model: 'whisper-1' };
    const base = buildPlan('c.yaml', demoConfig({ transcribe: { engine: 'openai', endpoint } }), STAGES);
    const tuned = buildPlan(
      'c.yaml',
      demoConfig({
        transcribe: {
          engine: 'openai',
          endpoint: { ...endpoint, baseURL: 'https://asr.example/v1', timeoutMs: 5000, maxRetries: 9, limits: { concurrency: 32, requestsPerMinute: 60 } },
        },
      }),
      STAGES,
    );
    const other = buildPlan('c.yaml', demoConfig({ transcribe: { engine: 'openai', endpoint: { ...endpoint, model: 'gpt-4o-transcribe' } } }), STAGES);
    expect(tuned.fingerprint).toBe(base.fingerprint);
    expect(other.fingerprint).not.toBe(base.fingerprint);
  });

  it('accepts every config shipped in configs/', async () => {
    for (const file of (await readdir(join(REPO, 'configs'))).filter((f) => f.endsWith('.yaml'))) {
      const path = join(REPO, 'configs', file);
      expect(() => buildPlan(path, parseYaml(readFileSync(path, 'utf8')), STAGES), file).not.toThrow();
    }
  });

  it('names the YAML path and the allowed values of a bad setting', () => {
    const issues = problems(demoConfig({ transcribe: { engine: 'whisper' } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^stages\[2\]\.transcribe\.engine: /);
    expect(issues[0]).toContain('pocketsphinx');
    expect(problems({ ...demoConfig(), partitions: 0 })[0]).toMatch(/^partitions: /);
    expect(problems({ ...demoConfig(), colour: 'red' })[0]).toMatch(/colour/);
  });

  it('rejects unknown stages, listing the known ones', () => {
    const raw = demoConfig();
    (raw.stages as unknown[]).splice(3, 0, { 'cues.telepathy': {} });
    expect(problems(raw)[0]).toMatch(/^stages\[3\]: unknown stage "cues.telepathy"; known stages: ingest, segment/);
  });

  it('checks the wiring: a stage reading a field no earlier stage adds', () => {
    const raw = demoConfig();
    raw.stages = (raw.stages as Record<string, unknown>[]).filter((s) => !('transcribe' in s));
    const issues = problems(raw);
    expect(issues.some((i) => /"cues.lexical" reads "transcript", which no earlier stage adds; put the stage that adds it \(transcribe\) before/.test(i))).toBe(
      true,
    );
  });

  it('requires ingest first and write last', () => {
    const raw = demoConfig();
    raw.stages = (raw.stages as unknown[]).slice(1);
    expect(problems(raw).join('\n')).toMatch(/stages\[0\]: the first stage must be a source \(ingest\)/);
  });
});
