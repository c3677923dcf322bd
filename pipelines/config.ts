// Run configs: one YAML file naming the stages in order with their settings. Validation happens
// before anything runs; every error names the YAML path and what is allowed there.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { closestKey, validKeys } from './config-keys.ts';
import { fingerprint } from './fingerprint.ts';
import type { GlobalStage, RecordStage, SourceStage } from './stage.ts';
import { SEGMENT_BASE_FIELDS } from './stage.ts';
import type { SinkStage } from './sink.ts';
import { TeachersConfig } from './teachers/registry.ts';

export type AnyStage = SourceStage<any> | RecordStage<any> | GlobalStage<any> | SinkStage<any>;
export type StageRegistry = ReadonlyMap<string, AnyStage>;

const StageEntry = z.union([z.string(), z.record(z.string(), z.unknown())]);

export const RunConfig = z
  .object({
    /** Corpus name, used in the manifest and the dataset card. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, dot, dash and underscore')
      .default('corpus'),
    /** Output folder (CLI --out overrides). Relative paths are relative to the working directory. */
    out: z.string().min(1).default('out'),
    /** Store folder for artefacts and caches (CLI --store overrides). */
    store: z.string().min(1).default('.emoforge'),
    /** Work units: clips are assigned to partitions by a stable hash of their id. */
    partitions: z.number().int().min(1).max(65536).default(16),
    /** Partitions processed at once in this process (never part of any cache key). */
    concurrency: z.number().int().min(1).max(256).default(2),
    /** Stages in order: `- ingest`, or `- segment: { strategy: whole }`. */
    stages: z.array(StageEntry).min(2),
    teachers: TeachersConfig.optional(),
    /** Spending cap for teacher calls in one run; records that would exceed it are dropped `budget-exhausted` and retried by the next run. */
    budget: z.object({ maxUSD: z.number().positive() }).strict().optional(),
    /**
     * What a run whose records failed transiently publishes. Default (allowPartial false): those
     * records keep their rows from the published version, and with no published version nothing is
     * published (exit 3). allowPartial true publishes what the run has.
     */
    publish: z
      .object({ allowPartial: z.boolean().default(false) })
      .strict()
      .prefault({}),
  })
  .strict();
export type RunConfig = z.infer<typeof RunConfig>;

export interface PlannedStage<S extends AnyStage = AnyStage> {
  readonly stage: S;
  readonly config: unknown;
  /** name + version + own config + the previous stage's fingerprint */
  readonly fingerprint: string;
}

export type Phase =
  | { readonly kind: 'records'; readonly stages: readonly PlannedStage<RecordStage<any>>[] }
  | { readonly kind: 'global'; readonly stage: PlannedStage<GlobalStage<any>> };

export interface Plan {
  readonly file: string;
  readonly config: RunConfig;
  readonly source: PlannedStage<SourceStage<any>>;
  readonly records: readonly PlannedStage<RecordStage<any>>[];
  /** The stages between ingest and the sink as the runner executes them. */
  readonly phases: readonly Phase[];
  readonly sink: PlannedStage<SinkStage<any>>;
  /** Every stage in config order, source first and sink last (stats tables, the manifest, dry-run stand-ins). */
  readonly ordered: readonly PlannedStage[];
  readonly teachers: TeachersConfig;
  /** Fingerprint of everything that shapes the output (not paths, not concurrency). */
  readonly fingerprint: string;
}

function formatPath(prefix: (string | number)[], path: readonly PropertyKey[]): string {
  return [...prefix, ...path].reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

/** Every issue with its YAML path; an unknown key also names the closest valid key ("did you mean") or the valid ones. */
function zodIssues(error: z.ZodError, prefix: (string | number)[], schema?: z.ZodType): string[] {
  return error.issues.map((issue) => {
    const where = formatPath(prefix, issue.path) || '(top level)';
    if (issue.code !== 'unrecognized_keys' || !schema) return `${where}: ${issue.message}`;
    const valid = validKeys(schema, issue.path);
    const hints = issue.keys.map((key) => {
      const meant = closestKey(key, valid);
      return meant ? `"${key}": did you mean "${meant}"?` : `"${key}" is not a setting here`;
    });
    return `${where}: unknown key ${hints.join('; ')}${valid.length ? ` (valid keys: ${valid.join(', ')})` : ''}`;
  });
}

export async function loadConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError) throw new ConfigError(file, [`YAML syntax error: ${error.message}`]);
    throw error;
  }
}

/** Validates the config and the stage wiring; throws ConfigError listing every problem found. */
export function buildPlan(file: string, raw: unknown, registry: StageRegistry): Plan {
  const parsed = RunConfig.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, zodIssues(parsed.error, [], RunConfig));
  const config = parsed.data;
  const problems: string[] = [];
  const planned: PlannedStage[] = [];
  let previous = '';
  config.stages.forEach((entry, index) => {
    let name: string;
    let settings: unknown;
    if (typeof entry === 'string') [name, settings] = [entry, {}];
    else {
      const keys = Object.keys(entry);
      if (keys.length !== 1) {
        problems.push(`stages[${index}]: write one stage per entry as "- name: {settings}" (found keys ${keys.join(', ') || 'none'})`);
        return;
      }
      [name, settings] = [keys[0], entry[keys[0]] ?? {}];
    }
    const stage = registry.get(name);
    if (!stage) {
      problems.push(`stages[${index}]: unknown stage "${name}"; known stages: ${[...registry.keys()].join(', ')}`);
      return;
    }
    const result = stage.configSchema.safeParse(settings);
    if (!result.success) {
      problems.push(...zodIssues(result.error, ['stages', index, name], stage.configSchema));
      return;
    }
    const shaping = 'cacheConfig' in stage && stage.cacheConfig ? stage.cacheConfig(result.data) : result.data;
    previous = fingerprint(stage.name, stage.version, shaping, previous);
    planned.push({ stage, config: result.data, fingerprint: previous });
  });
  if (problems.length) throw new ConfigError(file, problems);

  const [first, ...rest] = planned;
  const last = rest.pop();
  if (first?.stage.kind !== 'source') problems.push(`stages[0]: the first stage must be a source (ingest), not "${first?.stage.name}"`);
  if (last?.stage.kind !== 'sink') problems.push(`stages[${config.stages.length - 1}]: the last stage must be a sink (write), not "${last?.stage.name}"`);
  rest.forEach((p, i) => {
    const kind = p.stage.kind;
    if (kind === 'source' || kind === 'sink' || (i > 0 && kind === 'clip'))
      problems.push(`stages[${i + 1}]: "${p.stage.name}" (a ${kind} stage) cannot stand here`);
  });
  const records = rest.filter((p) => p.stage.kind !== 'global') as PlannedStage<RecordStage<any>>[];
  const phases: Phase[] = [];
  for (const p of rest) {
    if (p.stage.kind === 'global') phases.push({ kind: 'global', stage: p as PlannedStage<GlobalStage<any>> });
    else {
      const last = phases.at(-1);
      if (last?.kind === 'records') (last.stages as PlannedStage<RecordStage<any>>[]).push(p as PlannedStage<RecordStage<any>>);
      else phases.push({ kind: 'records', stages: [p as PlannedStage<RecordStage<any>>] });
    }
  }
  if (rest[0]?.stage.kind !== 'clip')
    problems.push(`stages[1]: the stage after ingest must turn clips into segments (segment), not "${records[0]?.stage.name}"`);
  if (problems.length) throw new ConfigError(file, problems);

  // Wiring: every field a stage reads must be added by a stage before it.
  const available = new Set<string>(SEGMENT_BASE_FIELDS);
  const reads = [...rest, last!];
  reads.forEach((p, i) => {
    const stage = p.stage as RecordStage<any> | GlobalStage<any> | SinkStage<any>;
    const fields = 'readsFor' in stage && stage.readsFor ? stage.readsFor(p.config) : stage.reads;
    for (const field of fields) {
      if (!available.has(field)) {
        problems.push(
          `stages[${i + 1}]: "${stage.name}" reads "${field}", which no earlier stage adds; put the stage that adds it (${knownAdders(registry, field)}) before "${stage.name}"`,
        );
      }
    }
    if (stage.kind !== 'sink') for (const field of stage.adds) available.add(field);
  });
  if (problems.length) throw new ConfigError(file, problems);

  const teachers = TeachersConfig.parse(config.teachers ?? {});
  return {
    file,
    config,
    source: first as PlannedStage<SourceStage<any>>,
    records,
    phases,
    sink: last as PlannedStage<SinkStage<any>>,
    ordered: planned,
    teachers,
    fingerprint: fingerprint(last!.fingerprint, config.partitions, pipelineTeachers(teachers)),
  };
}

function knownAdders(registry: StageRegistry, field: string): string {
  const names = [...registry.values()].filter((s) => 'adds' in s && (s.adds as readonly string[]).includes(field)).map((s) => s.name);
  return names.length ? names.join(' or ') : 'none is registered';
}

/** The teachers config without the eval-judge role: `emoforge eval` uses it, it never shapes a corpus, so it stays out of the run's fingerprint. */
function pipelineTeachers(teachers: TeachersConfig): unknown {
  const { 'eval-judge': _evalJudge, ...roles } = teachers.roles;
  return { ...teachers, roles };
}
