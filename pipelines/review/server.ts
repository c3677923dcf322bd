// The review page's server: a plain Node http server over a finished out folder and the store its
// run used. Security model:
// - it listens on loopback by default; any other host needs a token (printed at start; checked on
//   every request, from the `token` query once, then an HttpOnly SameSite=Strict cookie);
// - on loopback the Host header must name the server itself (no DNS rebinding), and a POST must be
//   JSON with the page's own header and origin (no cross-site form can record a decision);
// - the page is static files from this repository (no CDN, works offline), under a CSP that allows
//   only its own script, styles, images, media and API: no inline script, nothing from data;
// - every string is data: the API returns JSON and the page writes text nodes, never HTML;
// - no path from a request reaches the file system: media are asked for by number, and a number
//   names an entry of OUT/media.jsonl (or a store key a review snapshot names).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EMOTIONS } from '../../schemas/emotion.ts';
import type { Store } from '../store/store.ts';
import { checkEdits } from './edits.ts';
import { parseQueue, QUEUE_TITLES, QUEUES, queueOrder, resolutions, type QueueInput, type QueueName } from './queues.ts';
import { RESOLVE_POLICIES, type Resolution, type ResolvePolicy } from './resolve.ts';
import { DEFAULT_LOG, REJECT_REASONS, ReviewDecision, ReviewerName, ReviewLog } from './review-log.ts';
import { serveMedia } from './media-route.ts';
import { loadReviewSet, type ReviewSet } from './review-set.ts';
import { wilson } from './statistics.ts';
import { agreementOf, detailOf, summaryOf } from './views.ts';

export interface ReviewServerOptions {
  /** the finished out folder (has manifest.json) */
  readonly outDir: string;
  /** the store the run used: review snapshots, the review log, media of rejected segments */
  readonly store: Store;
  /** review log name, as the review stage's `log`; default `default` */
  readonly log?: string;
  /** default 127.0.0.1; anything but loopback requires the token */
  readonly host?: string;
  /** default 8765; 0 picks a free port */
  readonly port?: number;
  /** the reviewer name a page starts with (each page can change its own); default none: the page asks */
  readonly reviewer?: string;
  /** the queue a page opens with; default random */
  readonly queue?: string;
  /** which vote counts when reviewers differ, as the review stage's `resolve`; default strictest */
  readonly resolve?: ResolvePolicy;
  /** the access token; default: generated when the host is not loopback, none on loopback */
  readonly token?: string;
  /** decision times (tests pin it); default the system clock */
  readonly now?: () => Date;
}

export interface ReviewServer {
  /** the page's address (with `?token=…` when a token is needed) */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly set: ReviewSet;
  readonly log: ReviewLog;
  close(): Promise<void>;
}

/** A bad option (port, host, queue): the CLI's usage error. */
export class ReviewOptionError extends Error {
  override name = 'ReviewOptionError';
}

export const DEFAULT_PORT = 8765;
const MAX_BODY = 256 * 1024;
/** How many queue entries the page lists at once. */
const LIST_LIMIT = 5000;
/** The log is listed again at most this often (other pages and other servers append to it). */
const REFRESH_MS = 1000;
const COOKIE = 'emoforge_review';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE_FILES: Record<string, { readonly file: string; readonly type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/review.js': { file: 'review.js', type: 'text/javascript; charset=utf-8' },
  '/review.css': { file: 'review.css', type: 'text/css; charset=utf-8' },
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startReviewServer(options: ReviewServerOptions): Promise<ReviewServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ReviewOptionError(`--port must be a whole number from 0 to 65535, got ${port}`);
  const policy = options.resolve ?? 'strictest';
  if (!RESOLVE_POLICIES.includes(policy)) throw new ReviewOptionError(`resolve must be one of ${RESOLVE_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  const startQueue = options.queue === undefined ? 'random' : parseQueue(options.queue);
  if (!startQueue)
    throw new ReviewOptionError(`--queue must be one of ${QUEUES.join(', ')} or label:EMOTION (${EMOTIONS.join(', ')}), got ${JSON.stringify(options.queue)}`);
  const defaultReviewer = options.reviewer === undefined ? undefined : ReviewerName.safeParse(options.reviewer);
  if (defaultReviewer && !defaultReviewer.success) throw new ReviewOptionError(`--reviewer: ${defaultReviewer.error.issues[0]?.message}`);
  const token = options.token ?? (isLoopback(host) ? undefined : randomBytes(24).toString('base64url'));
  const now = options.now ?? (() => new Date());

  const set = await loadReviewSet(options.outDir, options.store);
  const log = new ReviewLog(options.store, options.log ?? DEFAULT_LOG);
  await log.read();
  let lastRead = Date.now();
  const pageDir = new URL('./page/', import.meta.url);
  const page = new Map<string, Buffer>();
  for (const [route, { file }] of Object.entries(PAGE_FILES)) page.set(route, await readFile(new URL(file, pageDir)));
  const mediaRoot = await realpath(join(options.outDir, 'media')).catch(() => null);

  const state = { allowedHosts: new Set<string>() };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: `the server failed: ${error.message}` });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    if (isLoopback(host) && !state.allowedHosts.has(String(req.headers.host ?? '')))
      return sendText(res, 403, 'this review server answers only to its own address (Host header)');
    if (req.headers['sec-fetch-site'] === 'cross-site') return sendText(res, 403, 'cross-site requests are refused');
    const url = new URL(req.url ?? '/', 'http://review.invalid');
    if (token) {
      const given = url.searchParams.get('token');
      if (given !== null && sameToken(given, token)) res.setHeader('Set-Cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      else if (!sameToken(cookieOf(req) ?? req.headers['x-emoforge-token']?.toString() ?? '', token)) {
        return sendText(res, 401, 'this review server needs its token: open the address it printed when it started (…/?token=…)');
      }
    }
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const file = PAGE_FILES[path];
    if (file && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { 'Content-Type': file.type, 'Cache-Control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : page.get(path));
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (path === '/api/state' && method === 'GET')
      return sendJson(res, 200, await stateOf(url.searchParams.get('reviewer') ?? '', url.searchParams.get('queue') ?? startQueue!));
    const sampleMatch = /^\/api\/samples\/(\d{1,9})$/.exec(path);
    if (sampleMatch && method === 'GET') {
      const sample = set.samples[Number(sampleMatch[1])];
      if (!sample) return sendJson(res, 404, { error: 'no such sample' });
      return sendJson(res, 200, detailOf(sample, await currentResolutions()));
    }
    if (path === '/api/decisions' && method === 'POST') return decide(req, res);
    const mediaMatch = /^\/media\/(\d{1,9})$/.exec(path);
    if (mediaMatch && (method === 'GET' || method === 'HEAD'))
      return serveMedia(req, res, set.media[Number(mediaMatch[1])], { outDir: options.outDir, mediaRoot, store: options.store });
    if (file || sampleMatch || mediaMatch || path.startsWith('/api/')) return sendText(res, 405, `${method} is not allowed here`);
    return sendText(res, 404, 'not found');
  }

  async function currentResolutions(refresh = true): Promise<Resolution[]> {
    if (refresh && Date.now() - lastRead >= REFRESH_MS) {
      await log.read();
      lastRead = Date.now();
    }
    return resolutions(queueInput());
  }

  function queueInput(): QueueInput {
    return { samples: set.samples, decisions: log.decisions(), log: log.name, policy };
  }

  async function stateOf(reviewerParam: string, queueParam: string) {
    const queue: QueueName = parseQueue(queueParam) ?? 'random';
    const reviewer = reviewerParam.trim();
    const resolved = await currentResolutions();
    const input = queueInput();
    const order = queueOrder(queue, input, reviewer, resolved);
    const labels = [...new Set(set.samples.map((s) => s.snapshot.labels?.primary).filter((l): l is NonNullable<typeof l> => l !== undefined))].sort();
    const queues = [...QUEUES, ...labels.map((l) => `label:${l}` as const)].map((name) => ({
      name,
      title: name.startsWith('label:') ? `one label: ${name.slice(6)}` : QUEUE_TITLES[name as (typeof QUEUES)[number]],
      size: queueOrder(name, input, reviewer, resolved).length,
    }));
    // The unbiased estimate: per sample, the first vote made from the random queue.
    const randomVotes = resolved.flatMap((r) => r.votes.filter((v) => v.queue === 'random').slice(0, 1));
    const corpus = set.samples.filter((s) => s.inCorpus);
    return {
      corpus: set.corpus,
      log: log.name,
      policy,
      reviewer: defaultReviewer?.success ? defaultReviewer.data : null,
      rejectReasons: REJECT_REASONS,
      emotions: EMOTIONS,
      missingSnapshots: set.missingSnapshots,
      queue: { name: queue, title: queues.find((q) => q.name === queue)?.title ?? queue, order: order.slice(0, LIST_LIMIT), size: order.length },
      queues,
      progress: {
        samples: corpus.length,
        decided: corpus.filter((s) => resolved[s.index].votes.length > 0).length,
        mine: reviewer ? set.samples.filter((s) => resolved[s.index].votes.some((v) => v.reviewer === reviewer)).length : 0,
        stale: corpus.filter((s) => resolved[s.index].votes.length === 0 && resolved[s.index].stale > 0).length,
      },
      estimate: wilson(randomVotes.filter((v) => v.verdict === 'accept').length, randomVotes.length),
      agreement: agreementOf(resolved),
      samples: order.slice(0, LIST_LIMIT).map((i) => summaryOf(set.samples[i], resolved[i], reviewer)),
    };
  }

  async function decide(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      return sendJson(res, 415, { error: 'decisions are JSON (Content-Type: application/json)' });
    if (req.headers['x-emoforge-review'] !== '1')
      return sendJson(res, 403, { error: 'decisions come from the review page (X-Emoforge-Review header missing)' });
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`)
      return sendJson(res, 403, { error: 'decisions come from the review page (foreign Origin)' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    } catch (error) {
      return sendJson(res, 400, { error: `the request is not JSON: ${(error as Error).message}` });
    }
    // By segment id, not by the page's sample number: numbers change when the out folder does.
    const sample = set.samples.find((s) => s.segmentId === body.segmentId);
    if (!sample) return sendJson(res, 404, { error: 'no such sample' });
    if (body.hash !== sample.hash) return sendJson(res, 409, { error: "this sample's content is not the one the page showed: reload the page" });
    const note = typeof body.note === 'string' && body.note.trim() ? body.note.trim() : undefined;
    const parsed = ReviewDecision.safeParse({
      id: body.id,
      segmentId: sample.segmentId,
      hash: sample.hash,
      reviewer: body.reviewer,
      at: now().toISOString(),
      verdict: body.verdict,
      ...(body.reason !== undefined && body.reason !== '' ? { reason: body.reason } : {}),
      ...(note ? { note } : {}),
      ...(body.edits !== undefined ? { edits: body.edits } : {}),
      ...(typeof body.queue === 'string' ? { queue: body.queue } : {}),
    });
    if (!parsed.success) return sendJson(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'decision'}: ${i.message}`).join('; ') });
    if (parsed.data.verdict === 'edit') {
      const checked = checkEdits(sample.snapshot, parsed.data.edits);
      if (!checked.ok) return sendJson(res, 400, { error: `the edit is not valid: ${checked.error}` });
    }
    const stored = await log.append(parsed.data);
    const resolved = await currentResolutions(false);
    return sendJson(res, 200, { decision: stored, sample: summaryOf(sample, resolved[sample.index], stored.reviewer) });
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      rejectListen(error.code === 'EADDRINUSE' ? new ReviewOptionError(`port ${port} on ${host} is in use: pass another --port (0 picks a free one)`) : error),
    );
    server.listen(port, host, () => resolveListen());
  });
  const bound = (server.address() as AddressInfo).port;
  state.allowedHosts = new Set([`${host}:${bound}`, `127.0.0.1:${bound}`, `localhost:${bound}`, `[::1]:${bound}`]);
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/${token ? `?token=${token}` : ''}`,
    host,
    port: bound,
    token,
    set,
    log,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, rejectBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        rejectBody(new Error(`the request is over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', rejectBody);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${text}\n`);
}
