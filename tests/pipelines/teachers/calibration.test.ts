// Teacher calibration: observed answer lengths are kept across runs and drive dry-run projections.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../../pipelines/store/local-store.ts';
import { MIN_OBSERVED, projectFromObservations, TeacherCalibration } from '../../../pipelines/teachers/calibration.ts';
import { tempDir } from '../../helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('emoforge-calibration-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('teacher calibration', () => {
  it('adds observations across runs, per teacher fingerprint', async () => {
    const store = new LocalStore(dir);
    const run1 = new TeacherCalibration({ model: 'm', prompts: 'v1' }, store);
    run1.record('describe', { estimatedInputTokens: 100, inputTokens: 110, outputTokens: 40 });
    run1.record('describe', { estimatedInputTokens: 100, inputTokens: 110, outputTokens: 60 });
    await run1.persist();
    const run2 = new TeacherCalibration({ model: 'm', prompts: 'v1' }, store);
    run2.record('describe', { estimatedInputTokens: 200, inputTokens: 220, outputTokens: 50 });
    expect(await run2.observed('describe')).toEqual({ answers: 3, estimatedInputTokens: 400, inputTokens: 440, outputTokens: 150 });
    await run2.persist();
    expect(await new TeacherCalibration({ model: 'm', prompts: 'v1' }, store).observed('describe')).toEqual({
      answers: 3,
      estimatedInputTokens: 400,
      inputTokens: 440,
      outputTokens: 150,
    });
    // A new prompt version is another teacher: it starts with nothing observed.
    expect(await new TeacherCalibration({ model: 'm', prompts: 'v2' }, store).observed('describe')).toBeUndefined();
  });

  it('projects from observations once a role has enough, else from the stand-in', () => {
    const few = { answers: MIN_OBSERVED - 1, estimatedInputTokens: 100, inputTokens: 120, outputTokens: 80 };
    expect(projectFromObservations(few, 500, 33)).toEqual({ inputTokens: 500, outputTokens: 33, basis: 'stand-in' });
    const enough = { answers: 4, estimatedInputTokens: 400, inputTokens: 440, outputTokens: 600 };
    expect(projectFromObservations(enough, 500, 33)).toEqual({ inputTokens: 550, outputTokens: 150, basis: 'observed' });
    expect(projectFromObservations(undefined, 500, 33).basis).toBe('stand-in');
  });

  it('ignores an unreadable calibration file and rewrites it', async () => {
    const store = new LocalStore(dir);
    const calibration = new TeacherCalibration({ model: 'broken' }, store);
    const key = (calibration as unknown as { key: string }).key;
    await store.put(key, '{not json');
    const fresh = new TeacherCalibration({ model: 'broken' }, store);
    expect(await fresh.observed('labels')).toBeUndefined();
    fresh.record('labels', { estimatedInputTokens: 10, inputTokens: 10, outputTokens: 5 });
    await fresh.persist();
    expect(JSON.parse((await store.get(key))!.toString()).roles.labels.answers).toBe(1);
  });
});
