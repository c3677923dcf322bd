// Refresh benchmark: the demo pipeline (configs/demo.yaml: pocketsphinx ASR, face cues, the four
// teacher roles, filters, dedup) on N sample clips, three runs into one out folder and store:
//   1. full run (empty store)                    → version 1
//   2. nothing changed                           → same version; goal ≤ 3% of the full run, 0 teacher calls
//   3. 5% new clips (at least one) added         → version 2; goal ≤ 10% of the full run
// Runs are in this process (runPipeline, as `emoforge run` calls it), timed around the whole run
// including ingest hashing every file and publishing. Teachers: `--teacher rules` (offline, the
// default) or `--teacher openai` (the local OpenAI-compatible test server answering every role with
// realistic answers after `--latency` ms, the kind of teacher that makes a full run expensive).
//
//   npx tsx scripts/bench/refresh.ts [--clips 40] [--new 0.05] [--teacher rules|openai] [--latency 300]
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildPlan, loadConfigFile } from '../../pipelines/config.ts';
import { runPipeline } from '../../pipelines/runner.ts';
import type { RunSummary } from '../../pipelines/run/summary.ts';
import { totalWork } from '../../pipelines/stats.ts';
import { LocalStore } from '../../pipelines/store/local-store.ts';
import { STAGES } from '../../stages/index.ts';
import { REPO, sampleClips } from '../../tests/helpers.ts';
import { realisticAnswer } from '../../tests/support/answer-model.ts';
import { OpenAICompatibleServer } from '../../tests/support/openai-server.ts';

const { values: args } = parseArgs({
  options: {
    clips: { type: 'string', default: '40' },
    new: { type: 'string', default: '0.05' },
    teacher: { type: 'string', default: 'rules' },
    latency: { type: 'string', default: '300' },
  },
});
const clips = Number(args.clips);
const newShare = Number(args.new);
const latencyMs = Number(args.latency);
if (!Number.isInteger(clips) || clips < 2) throw new RangeError(`--clips must be an integer ≥ 2, got ${args.clips}`);
if (!(newShare > 0 && newShare < 1)) throw new RangeError(`--new must be a share between 0 and 1, got ${args.new}`);
if (args.teacher !== 'rules' && args.teacher !== 'openai') throw new RangeError(`--teacher must be rules or openai, got ${args.teacher}`);
const added = Math.max(1, Math.round(clips * newShare));

const KEY_ENV = 'EMOFORGE_BENCH_REFRESH_KEY';
const ROLES = ['describe', 'labels', 'qa', 'rationale'];

async function main(): Promise<void> {
  process.stdout.write(`making ${clips + added} sample clips (cached per machine)…\n`);
  const full = await sampleClips(clips + added);
  const work = await mkdtemp(join(tmpdir(), 'emoforge-bench-refresh-'));
  const input = join(work, 'input');
  const lines = (await readFile(join(full, 'manifest.csv'), 'utf8')).trim().split('\n');
  const names = lines.slice(1).map((l) => l.split(',')[0]);
  const useClips = async (n: number) => {
    await rm(input, { recursive: true, force: true });
    await mkdir(input, { recursive: true });
    for (const name of names.slice(0, n)) await copyFile(join(full, `${name}.mp4`), join(input, `${name}.mp4`));
    await writeFile(join(input, 'manifest.csv'), `${[lines[0], ...lines.slice(1, n + 1)].join('\n')}\n`);
  };

  const server = args.teacher === 'openai' ? await OpenAICompatibleServer.start({ latencyMs, chat: { json: realisticAnswer } }) : undefined;
  if (server) process.env[KEY_ENV] = server.apiKey;
  const raw = (await loadConfigFile(join(REPO, 'configs/demo.yaml'))) as Record<string, unknown>;
  const config = server
    ? {
        ...raw,
        teachers: {
          teachers: { llm: { kind: 'openai', endpoint: { baseURL: server.baseURL, apiKeyEnv: KEY_ENV, model: 'bench-model', limits: { concurrency: 8 } } } },
          roles: Object.fromEntries(ROLES.map((role) => [role, 'llm'])),
        },
      }
    : raw;
  const plan = buildPlan('configs/demo.yaml', config, STAGES);
  const out = join(work, 'out');
  const store = new LocalStore(join(work, 'store'));
  const run = async (label: string): Promise<{ label: string; ms: number; summary: RunSummary }> => {
    const started = performance.now();
    const summary = await runPipeline(plan, { store, outDir: out, log: pino({ level: 'silent' }), signal: new AbortController().signal, input });
    const ms = performance.now() - started;
    process.stdout.write(`${label}: ${(ms / 1000).toFixed(2)} s — ${summary.sink?.version?.line ?? 'nothing published'}\n`);
    return { label, ms, summary };
  };

  try {
    await useClips(clips);
    const first = await run(`full run, ${clips} clips`);
    const same = await run('nothing changed');
    await useClips(clips + added);
    const grown = await run(`${added} new clip(s) (${((added / clips) * 100).toFixed(1)}%)`);

    const teacherCalls = (s: RunSummary) =>
      Object.values(s.teacherUsage)
        .flatMap((t) => Object.values(t))
        .reduce((n, u) => n + u.calls, 0);
    const header = ['run', 'wall s', 'of full run', 'version', 'teacher calls', 'teacher work', 'media work', 'ASR', 'partitions cached'];
    const rows = [first, same, grown].map(({ label, ms, summary }) => {
      const w = totalWork(summary.stats);
      return [
        label,
        (ms / 1000).toFixed(2),
        `${((ms / first.ms) * 100).toFixed(1)}%`,
        `${summary.sink?.version?.number ?? '-'}${summary.sink?.version?.unchanged ? ' (unchanged)' : ''}`,
        String(teacherCalls(summary)),
        String(w.teacher ?? 0),
        String((w.ffmpeg ?? 0) + (w.ffprobe ?? 0)),
        String(w.asr ?? 0),
        `${summary.partitions.cached}/${summary.partitions.total}`,
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    process.stdout.write(
      `\nrefresh bench: configs/demo.yaml, ${clips} clips, teacher ${args.teacher}${server ? ` (local OpenAI-compatible server, ${latencyMs} ms latency)` : ' (offline rules teacher)'}\n`,
    );
    for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}\n`);
    const sameRatio = same.ms / first.ms;
    const grownRatio = grown.ms / first.ms;
    process.stdout.write(
      `nothing changed: ${(sameRatio * 100).toFixed(1)}% of the full run (goal ≤ 3%: ${sameRatio <= 0.03 ? 'met' : 'missed'}), ${teacherCalls(same.summary)} teacher calls (goal 0: ${teacherCalls(same.summary) === 0 ? 'met' : 'missed'})\n` +
        `${added} new clip(s): ${(grownRatio * 100).toFixed(1)}% of the full run (goal ≤ 10%: ${grownRatio <= 0.1 ? 'met' : 'missed'})\n`,
    );
  } finally {
    await server?.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
