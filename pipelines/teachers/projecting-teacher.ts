// `--dry-run`: an LLM teacher that sends nothing. It projects what its first request would cost
// (0 when the response cache holds it) from the exact messages it would send, and answers with the
// rules teacher's text, so later roles see realistic inputs. Output tokens (and a correction of the
// input estimate) come from the teacher's observed answers in earlier runs once a role has a few
// (see calibration.ts); before that, the stand-in answer's length stands in for the real one's.
// Nothing it returns may be cached or published; the runner sees to that.
import { countTextTokens } from '../endpoints/index.ts';
import { projectFromObservations } from './calibration.ts';
import type { LlmTeacher } from './llm-teacher.ts';
import type { RulesTeacher } from './rules-teacher.ts';
import type { Teacher, TeacherRequest, TeacherResponse } from './teacher.ts';
import { priceOf, type TeacherUsageLedger } from './usage.ts';

/** What a role's projection was based on, for the dry-run summary. */
export interface ProjectionBasis {
  readonly basis: 'observed' | 'stand-in';
  /** Paid answers observed for the role (earlier runs). */
  readonly observedAnswers: number;
}

export class ProjectingTeacher implements Teacher {
  readonly name: string;
  readonly model: string;
  readonly fingerprint: unknown;

  constructor(
    private readonly llm: LlmTeacher,
    private readonly standIn: RulesTeacher,
    private readonly ledger: TeacherUsageLedger,
    private readonly bases: Map<string, ProjectionBasis>,
  ) {
    this.name = llm.name;
    this.model = llm.model;
    this.fingerprint = llm.fingerprint;
  }

  async generate<T, O>(request: TeacherRequest<T, O>, signal: AbortSignal): Promise<TeacherResponse<T>> {
    const { role } = request.task;
    const projected = await this.llm.project(request);
    const answer = await this.standIn.generate(request, signal);
    if (projected.cached) this.ledger.add(role, this.name, { cacheHits: 1, answers: 1 });
    else {
      const observed = await this.llm.calibration.observed(role);
      const { basis, ...tokens } = projectFromObservations(observed, projected.inputTokens, countTextTokens(JSON.stringify(answer.value)));
      this.bases.set(`${role}/${this.name}`, { basis, observedAnswers: observed?.answers ?? 0 });
      this.ledger.add(role, this.name, { calls: 1, answers: 1, ...tokens, usd: priceOf(tokens, this.llm.prices) });
    }
    // Marked cached: a projection is no work done.
    return { ...answer, cached: true, teacher: this.name, model: this.model };
  }
}
