// Test files in order of their usual duration, longest first, so that on two workers no long file
// starts last and runs alone (a clean clone has no timing cache for vitest's own order). Files not
// listed follow in vitest's order; a stale list only costs time, never a test.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Measured on a clean clone on the 2-core machine (`npm test -- --reporter=json`), files of 2 s or more, slowest first (one exception). */
const SLOWEST = [
  'tests/stages/cues/visual.test.ts',
  // The first warm-store user builds it (tests/support/warm-store.ts) while the other worker is busy.
  'tests/e2e/export.test.ts',
  'tests/e2e/hostile-media.test.ts',
  'tests/e2e/resume.test.ts',
  'tests/e2e/teacher-faults.test.ts',
  'tests/pipelines/executors/bullmq.test.ts',
  'tests/e2e/refresh.test.ts',
  'tests/e2e/review.test.ts',
  'tests/stages/transcribe.test.ts',
  'tests/stages/segment.test.ts',
  'tests/scripts/sample-clips.test.ts',
  'tests/e2e/audit.test.ts',
  'tests/e2e/outage.test.ts',
  'tests/pipelines/executors/static-shard.test.ts',
  'tests/stages/cues/tiny-face-detector.test.ts',
  'tests/e2e/quality.test.ts',
  'tests/e2e/s3.test.ts',
  'tests/stages/segment-speech-asr.test.ts',
  'tests/e2e/corpora.test.ts',
  'tests/e2e/teacher-batch.test.ts',
  'tests/e2e/dataset-folder.test.ts',
  'tests/e2e/fs-errors.test.ts',
  'tests/e2e/clues.test.ts',
  'tests/e2e/demo.test.ts',
  'tests/pipelines/store/store-conformance.test.ts',
  'tests/stages/cues/agreement.test.ts',
  'tests/pipelines/endpoints/endpoint-client.test.ts',
  'tests/e2e/eval.test.ts',
  'tests/stages/cues/face-crop-nets.test.ts',
  'tests/pipelines/executors/bullmq-s3.test.ts',
  'tests/pipelines/publish/lock.test.ts',
  'tests/e2e/decontamination.test.ts',
  'tests/pipelines/run/failure-policy.test.ts',
  'tests/stages/cues/acoustic.test.ts',
  'tests/stages/ingest/listing.test.ts',
  'tests/stages/dedup.test.ts',
  'tests/e2e/judge.test.ts',
  'tests/scripts/compiled.test.ts',
  'tests/pipelines/teachers/llm-teacher.test.ts',
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
