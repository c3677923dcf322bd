// `--dry-run`: an LLM teacher that sends nothing. It projects what its first request would cost
// (0 when the response cache holds it) from the exact messages it would send, and answers with the
// rules teacher's text, whose length stands in for the answer's, so later roles see realistic
// inputs. Nothing it returns may be cached or published; the runner sees to that.
import type { LlmTeacher } from './llm-teacher.ts';
import type { RulesTeacher } from './rules-teacher.ts';
import type { Teacher, TeacherRequest, TeacherResponse } from './teacher.ts';
import { priceOf, type TeacherUsageLedger } from './usage.ts';

export class ProjectingTeacher implements Teacher {
  readonly name: string;
  readonly model: string;
  readonly fingerprint: unknown;

  constructor(
    private readonly llm: LlmTeacher,
    private readonly standIn: RulesTeacher,
    private readonly ledger: TeacherUsageLedger,
  ) {
    this.name = llm.name;
    this.model = llm.model;
    this.fingerprint = llm.fingerprint;
  }

  async generate<T>(request: TeacherRequest<T>, signal: AbortSignal): Promise<TeacherResponse<T>> {
    const projected = await this.llm.project(request);
    const answer = await this.standIn.generate(request, signal);
    if (projected.cached) this.ledger.add(request.role, this.name, { cacheHits: 1, answers: 1 });
    else {
      const tokens = { inputTokens: projected.inputTokens, outputTokens: Math.ceil(JSON.stringify(answer.value).length / 4) };
      this.ledger.add(request.role, this.name, { calls: 1, answers: 1, ...tokens, usd: priceOf(tokens, this.llm.prices) });
    }
    // Marked cached: a projection is no work done.
    return { ...answer, cached: true, teacher: this.name, model: this.model };
  }
}
