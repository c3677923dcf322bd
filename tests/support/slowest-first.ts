// Test files in order of their usual duration, longest first, so that on two workers no long file
// starts last and runs alone (a clean clone has no timing cache for vitest's own order). Files not
// listed follow in vitest's order; a stale list only costs time, never a test.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Measured on the 2-core CI machine (the warm-store users as they are warmed), slowest first. */
const SLOWEST = [
  'tests/stages/cues/visual.test.ts',
  'tests/pipelines/executors/bullmq.test.ts',
  'tests/pipelines/executors/static-shard.test.ts',
  'tests/e2e/review.test.ts',
  'tests/e2e/resume.test.ts',
  'tests/e2e/demo.test.ts',
  'tests/e2e/hostile-media.test.ts',
  'tests/e2e/refresh.test.ts',
  'tests/e2e/audit.test.ts',
  'tests/e2e/export.test.ts',
  'tests/e2e/teacher-faults.test.ts',
  'tests/e2e/eval.test.ts',
  'tests/e2e/dataset-folder.test.ts',
];

export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const at = SLOWEST.findIndex((path) => file.moduleId.endsWith(`/${path}`));
      return at === -1 ? SLOWEST.length : at;
    };
    // Array.prototype.sort is stable: unlisted files keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
