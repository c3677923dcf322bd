// emoforge eval: score a model on a corpus's held-out split, and compare two evaluations.
export { evaluate, heldOutRows, questionOf, summarise, RESULT_COLUMNS } from './evaluate.ts';
export type { EvalOptions, EvalResult, EvalSummary, ResultRow, TaskSummary } from './evaluate.ts';
export { compareEvaluations, formatComparison } from './compare.ts';
export type { Comparison, MetricComparison, Verdict } from './compare.ts';
export { loadEvalModelConfig, modelName, EvalModelConfig } from './model-config.ts';
export { EVAL_TASKS, type EvalTask } from './task-scores.ts';
export { bootstrap, pairedBootstrap } from './bootstrap.ts';
export { WHEEL_SOURCE, wheelGroupOf, wheelSet } from './emotion-wheel.ts';
