// Strict configs everywhere and complete wiring: a typo in any stage's settings is refused naming the
// YAML path and the key that was meant; a filter whose enabled rules read fields no earlier stage
// adds (placed before labels, consistency.teacher without crosscheck) is refused naming the stage.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../pipelines/config.ts';
import { ConfigError } from '../../pipelines/errors.ts';
import { STAGES } from '../../stages/index.ts';
import { cli, demoConfig, tempDir, writeConfig } from '../helpers.ts';

function problems(config: Record<string, unknown>): string[] {
  try {
    buildPlan('typo.yaml', config, STAGES);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

function stagesWith(edit: (stages: Record<string, unknown>[]) => void): Record<string, unknown> {
  const config = demoConfig();
  edit(config.stages as Record<string, unknown>[]);
  return config;
}

describe('stage configs', () => {
  it('are strict: every stage refuses a key it does not know', () => {
    for (const [name, stage] of STAGES) {
      if (!stage.configSchema.safeParse({}).success) continue;
      expect(stage.configSchema.safeParse({ zzTypo: 1 }).success, `${name} accepted an unknown key`).toBe(false);
    }
  });

  it('name the YAML path and the closest valid key', () => {
    expect(problems(demoConfig({ describe: { templat: 'describe.rules@1' } }))).toEqual([
      expect.stringMatching(/^stages\[7\]\.describe: unknown key "templat": did you mean "template"\? \(valid keys: template\)$/),
    ]);
    expect(problems(demoConfig({ qa: { labelSett: ['happy', 'sad', 'angry', 'neutral'] } }))).toEqual([
      expect.stringMatching(/^stages\[9\]\.qa: unknown key "labelSett": did you mean "labelSet"\?/),
    ]);
    expect(problems(demoConfig({ labels: { tempalte: 'x@1' } }))[0]).toMatch(/did you mean "template"/);
    expect(problems(demoConfig({ rationale: { templates: 'x@1' } }))[0]).toMatch(/did you mean "template"/);
    expect(problems(demoConfig({ filter: { consistency: { manifst: true } } }))).toEqual([
      expect.stringMatching(/^stages\[11\]\.filter\.consistency: unknown key "manifst": did you mean "manifest"\?/),
    ]);
    expect(problems(demoConfig({}, { partitons: 4 }))).toEqual([expect.stringMatching(/^\(top level\): unknown key "partitons": did you mean "partitions"\?/)]);
    expect(problems(demoConfig({ describe: { colour: 'blue' } }))[0]).toMatch(/"colour" is not a setting here \(valid keys: template\)/);
  });

  it('a typo is exit 2 on the command line, with the hint and no stack trace', async () => {
    const dir = await tempDir();
    const file = await writeConfig(dir, demoConfig({ describe: { templat: 'describe.rules@1' } }));
    const result = await cli(['run', file, '--input', dir, '--out', join(dir, 'out'), '--store', join(dir, 'store')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('stages[7].describe: unknown key "templat": did you mean "template"?');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('filter wiring', () => {
  it('refuses a filter placed before labels when a consistency check reads the labels', () => {
    const config = stagesWith((stages) => {
      const at = stages.findIndex((s) => 'filter' in s);
      const [filter] = stages.splice(at, 1);
      (filter.filter as Record<string, unknown>).consistency = { manifest: true };
      stages.splice(
        stages.findIndex((s) => 'labels' in s),
        0,
        filter,
      );
    });
    expect(problems(config).join('\n')).toMatch(/"filter" reads "labels", which no earlier stage adds; put the stage that adds it \(labels\) before "filter"/);
  });

  it('refuses consistency.teacher without crosscheck, naming the stage to add', () => {
    expect(problems(demoConfig({ filter: { consistency: { teacher: true } } })).join('\n')).toMatch(
      /"filter" reads "crosscheck", which no earlier stage adds; put the stage that adds it \(crosscheck\) before "filter"/,
    );
  });

  it('refuses grounding without a rationale stage, and accepts it turned off', () => {
    const noRationale = (grounding: string) =>
      stagesWith((stages) => {
        stages.splice(
          stages.findIndex((s) => 'rationale' in s),
          1,
        );
        (stages.find((s) => 'filter' in s)!.filter as Record<string, unknown>).grounding = grounding;
      });
    expect(problems(noRationale('drop')).join('\n')).toMatch(/"filter" reads "rationale".*\(rationale\) before "filter"/);
    expect(problems(noRationale('off'))).toEqual([]);
  });
});
