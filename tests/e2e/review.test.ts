// Human review end to end, in a real browser: `emoforge review OUT` over a small demo corpus, opened
// in Debian's Chromium through playwright-core. One reviewer plays the audio, edits a description,
// rejects a sample with a reason and accepts one with the keyboard; a reload shows every decision.
// Then two reviewers work at once in two browser contexts (one of them loses its connection and
// reloads: its decision waits in the page and is sent after the reload), and no decision is lost.
// The next `run` applies them: the edited text is in the shards with human provenance, the rejected
// segments are in rejects.parquet as human-rejected, a sample whose teacher text changed is back in
// the queue, and the report and card give acceptance and agreement. Static workers + finalize apply
// the same decisions; export --reviewed keeps the reviewed rows; the server's security rules hold.
import { existsSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRowsHyparquet } from '../../pipelines/parquet/read.ts';
import { ReviewLog } from '../../pipelines/review/review-log.ts';
import { LocalStore } from '../../pipelines/store/index.ts';
import { cli, demoConfig, readJson, sampleClips, spawnCli, tempDir, writeConfig } from '../helpers.ts';
import { warmStore, warmStoreReady } from '../support/warm-store.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];
// In CI, scripts/setup.sh installs chromium, so a missing browser must fail the test there, not skip it.
const skipBrowser = !existsSync(CHROMIUM) && !process.env.CI;

const HOSTILE_NAME = 'x<img src=x onerror=alert(1)>';
const HOSTILE_TEXT = '<script>alert("pwned")</script> all is lost and i am so tired.';
const EDITED_TEXT = 'Her smile is polite rather than joyful, and the flat voice does not match the words; the wording is what carries the happiness.';
const LOG = 'e2e';

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stdout: string;
}

/** Starts `emoforge review` and waits for the address it prints. */
async function serve(args: string[]): Promise<Served> {
  const child = spawnCli(['review', ...args]);
  let stdout = '';
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`review did not start: ${stdout}${stderr}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // The last line of the start-up message: everything before it has been printed.
      const found = /review page: (http:\/\/\S+)/.exec(stdout);
      if (found && stdout.includes('^C stops the server.')) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`review exited ${code}: ${stdout}${stderr}`)));
  });
  return { child, url, stdout };
}

async function stop(served: Served | undefined): Promise<void> {
  if (!served || served.child.exitCode !== null) return;
  const exited = new Promise((resolve) => served.child.once('exit', resolve));
  served.child.kill('SIGTERM');
  await exited;
}

// The suite's warm store is built by the first test that needs it: not inside this file's set-up time limit.
beforeAll(() => warmStoreReady(), 600_000);

describe.skipIf(skipBrowser)('human review in the loop', () => {
  let work: string;
  let input: string;
  let out: string;
  let store: string;
  let config: string;
  let server: Served | undefined;
  /** sample index on the page, by clip name */
  const index = new Map<string, number>();
  const segmentOf = new Map<string, string>();
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    work = await tempDir('emoforge-review-e2e-');
    input = await sampleClips(4);
    // A clip whose name and transcript are written to break out of HTML.
    await rename(join(input, 'sample_0002.mp4'), join(input, `${HOSTILE_NAME}.mp4`));
    const manifest = (await readFile(join(input, 'manifest.csv'), 'utf8')).replace(
      /^sample_0002,sad,spk02,.*$/m,
      `${HOSTILE_NAME},sad,spk02,"${HOSTILE_TEXT.replaceAll('"', '""')}"`,
    );
    await writeFile(join(input, 'manifest.csv'), manifest);
    out = join(work, 'out');
    // The suite's warm store: the three clips the test leaves as they are skip their media work.
    store = await warmStore(join(work, 'store'));
    const base = demoConfig({ transcribe: { engine: 'manifest' }, 'cues.visual': { detector: 'tiny' } }, { name: 'review-e2e' });
    const stages = base.stages as Record<string, unknown>[];
    stages.splice(
      stages.findIndex((s) => 'filter' in s),
      0,
      { crosscheck: {} },
      { judge: { minScore: 1 } },
      { review: { log: LOG } },
    );
    config = await writeConfig(work, base);
    const run = await cli(['run', config, '--input', input, '--out', out, '--store', store]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    server = await serve([out, '--store', store, '--log', LOG, '--port', '0']);
    const state = await (await fetch(`${server.url}api/state?reviewer=`)).json();
    for (const s of state.samples) index.set(s.name, s.i);
    for (const shard of (await readJson(join(out, 'manifest.json'))).shards)
      for (const row of await readRowsHyparquet(join(out, shard.file))) segmentOf.set(String(row.name), String(row.segment_id));
    expect(segmentOf.size).toBe(4);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stop(server);
  });

  const EDIT = 'sample_0001';
  const REJECT = HOSTILE_NAME;
  const ACCEPT = 'sample_0003';
  const FOURTH = 'sample_0004';

  async function reviewerPage(name: string) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !/ERR_FAILED|net::ERR_/.test(m.text())) problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(new URL(server!.url).origin)) foreign.push(r.url());
    });
    await page.goto(`${server!.url}?reviewer=${name}`);
    await page.waitForSelector('#sample-name');
    return { context, page, problems, foreign };
  }

  async function open(page: import('playwright-core').Page, name: string) {
    await page.click(`#items li[data-i="${index.get(name)}"] button`);
    // The name may already be shown (a decision moves on to the next sample): wait until this click's
    // answer has rendered too, or a reason picked now goes with a form about to be replaced.
    await page.waitForFunction(
      (n) => document.getElementById('sample-name')?.textContent === n && !document.getElementById('sample')?.hasAttribute('aria-busy'),
      name,
    );
  }

  const badge = (name: string, verdict: string) => `#items li[data-i="${index.get(name)}"] .badge.${verdict}`;

  it('one reviewer plays the audio, edits, rejects with a reason, accepts with the keyboard; a reload keeps every decision', async () => {
    const { page, problems, foreign, context } = await reviewerPage('alice');
    try {
      expect(await page.locator('#items li').count()).toBe(4);
      // Audio and video play from OUT/media, served by number.
      await open(page, EDIT);
      const audio = await page.evaluate(async () => {
        const a = document.getElementById('audio') as HTMLAudioElement;
        await a.play();
        await new Promise((r) => setTimeout(r, 600));
        a.pause();
        return { time: a.currentTime, src: a.getAttribute('src') };
      });
      expect(audio.time).toBeGreaterThan(0.2);
      expect(audio.src).toMatch(/^\/media\/\d+$/);
      const video = await page.evaluate(async () => {
        const v = document.getElementById('video') as HTMLVideoElement;
        await v.play();
        await new Promise((r) => setTimeout(r, 400));
        v.pause();
        return { time: v.currentTime, width: v.videoWidth };
      });
      expect(video.time).toBeGreaterThan(0.1);
      expect(video.width).toBeGreaterThan(0);
      expect(await page.locator('#media img').count()).toBeGreaterThanOrEqual(2);
      expect(await page.locator('#expressions tbody tr').count()).toBe(2);
      expect(await page.locator('#prosody').textContent()).toMatch(/F0 mean\s*\d+\.\d\s*Hz/);
      expect(await page.locator('#judge').textContent()).toMatch(/^Judge \d+\/10: /);
      expect(await page.locator('#crosscheck').textContent()).toMatch(/^Second teacher: /);

      // Edit the description, save with Ctrl+Enter.
      await page.fill('#edit-description', EDITED_TEXT);
      await page.focus('#edit-description');
      await page.keyboard.press('Control+Enter');
      await page.waitForSelector(badge(EDIT, 'edit'));

      // Reject the hostile sample with a reason; its name and transcript are text on the page.
      await open(page, REJECT);
      expect(await page.locator('#sample-name').innerHTML()).toBe('x&lt;img src=x onerror=alert(1)&gt;');
      expect(await page.locator('#transcript').textContent()).toBe(HOSTILE_TEXT);
      expect(await page.locator('#sample img[src="x"], #sample script').count()).toBe(0);
      await page.selectOption('#reject-reason', 'wrong-emotion');
      await page.fill('#reject-note', 'the face <b>smiles</b> all the way through');
      await page.click('#reject');
      await page.waitForSelector(badge(REJECT, 'reject'));

      // Accept with the keyboard; n moves on.
      await open(page, ACCEPT);
      await page.keyboard.press('a');
      await page.waitForSelector(badge(ACCEPT, 'accept'));
      // n and p walk the queue in its order.
      const names = await page.locator('#items li .name').allTextContents();
      await open(page, names[0]);
      await page.keyboard.press('n');
      await page.waitForFunction((n) => document.getElementById('sample-name')?.textContent === n, names[1]);
      await page.keyboard.press('p');
      await page.waitForFunction((n) => document.getElementById('sample-name')?.textContent === n, names[0]);

      // An invalid edit is refused with the teachers' own words and nothing is recorded.
      await open(page, FOURTH);
      const steps = await page.inputValue('#edit-steps');
      await page.fill('#edit-steps', steps.replace(/^Step 1: /, 'First: '));
      await page.click('#save-edit');
      await page.waitForSelector('#notice:not([hidden])');
      expect(await page.locator('#notice').textContent()).toMatch(/Not saved: the edit is not valid: rationale\.steps\.0: must start with "Step 1: "/);
      expect(await page.locator(`${badge(FOURTH, 'edit')}, ${badge(FOURTH, 'accept')}`).count()).toBe(0);
      // The unsaved edit is a draft: it survives the reload, and is dropped here.
      await page.reload();
      await page.waitForSelector('#sample-name');
      expect(await page.locator('#sample-name').textContent()).toBe(FOURTH);
      expect(await page.inputValue('#edit-steps')).toMatch(/^First: /);
      await page.evaluate(() => {
        for (const key of Object.keys(localStorage)) if (key.startsWith('emoforge-review:draft:')) localStorage.removeItem(key);
      });

      await page.reload();
      await page.waitForSelector('#sample-name');
      for (const [name, verdict] of [
        [EDIT, 'edit'],
        [REJECT, 'reject'],
        [ACCEPT, 'accept'],
      ] as const)
        expect(await page.locator(badge(name, verdict)).count(), name).toBe(1);
      await open(page, EDIT);
      expect(await page.locator('#my-decision .badge').textContent()).toBe('edit');
      // The reviewer sees the text they wrote, and the teacher's beside it.
      expect(await page.inputValue('#edit-description')).toBe(EDITED_TEXT);
      expect(await page.locator('#generated details.original').first().textContent()).toMatch(
        /^teacher's text(The speaker could not be identified[^.]*\. )?The face reads as/,
      );
      expect(await page.locator('#sync').textContent()).toBe('all decisions saved');
      // The README's picture: the page as a reviewer sees it, and a 96-colour copy small enough to commit.
      await page.screenshot({ path: join(work, 'review-page.png') });
      expect((await stat(join(work, 'review-page.png'))).size).toBeGreaterThan(10_000);
      const { default: sharp } = await import('sharp');
      await sharp(join(work, 'review-page.png'))
        .png({ palette: true, colours: 96, compressionLevel: 9, effort: 10 })
        .toFile(join(work, 'review-page-small.png'));
      // The one console error is the browser reporting the refused edit's 400.
      expect(problems).toEqual(['error: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
      expect(foreign).toEqual([]);
    } finally {
      await context.close();
    }

    const decisions = await new ReviewLog(new LocalStore(store), LOG).read();
    expect(decisions.map((d) => [d.reviewer, d.verdict, d.segmentId])).toEqual([
      ['alice', 'edit', segmentOf.get(EDIT)],
      ['alice', 'reject', segmentOf.get(REJECT)],
      ['alice', 'accept', segmentOf.get(ACCEPT)],
    ]);
    expect(decisions[0].edits).toEqual({ description: { text: EDITED_TEXT } });
    expect(decisions[1]).toMatchObject({ reason: 'wrong-emotion', note: 'the face <b>smiles</b> all the way through', queue: 'random' });
  });

  it('two reviewers at once, one of them offline for a moment: no decision is lost', async () => {
    const alice = await reviewerPage('alice');
    const bob = await reviewerPage('bob');
    try {
      // Alice's connection drops: her decision waits in the page.
      await alice.page.route('**/api/decisions', (route) => route.abort());
      await open(alice.page, FOURTH);
      await alice.page.keyboard.press('a');
      await alice.page.waitForFunction(() => /1 decision waiting/.test(document.getElementById('sync')?.textContent ?? ''));
      const bobDecides = (async () => {
        for (const [name, verdict] of [
          [EDIT, 'accept'],
          [REJECT, 'reject'],
          [ACCEPT, 'accept'],
          [FOURTH, 'reject'],
        ] as const) {
          await open(bob.page, name);
          if (verdict === 'accept') await bob.page.keyboard.press('a');
          else {
            await bob.page.selectOption('#reject-reason', name === FOURTH ? 'bad-media' : 'wrong-emotion');
            await bob.page.press('#reject-reason', 'Enter');
          }
          await bob.page.waitForSelector(badge(name, verdict));
        }
      })();
      const aliceComesBack = (async () => {
        await alice.page.unroute('**/api/decisions');
        await alice.page.reload();
        await alice.page.waitForSelector(badge(FOURTH, 'accept'));
      })();
      await Promise.all([bobDecides, aliceComesBack]);
      await alice.page.reload();
      await alice.page.waitForSelector('#sample-name');
      for (const name of [EDIT, REJECT, ACCEPT, FOURTH])
        expect(
          await alice.page
            .locator(`#items li[data-i="${index.get(name)}"] .badge`)
            .first()
            .textContent(),
        ).toMatch(/^you: /);
      expect(await alice.page.locator('#estimate').textContent()).toContain('κ alice·bob = 0.50 (n = 4)');
      expect([...alice.problems, ...bob.problems]).toEqual([]);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
    const decisions = await new ReviewLog(new LocalStore(store), LOG).read();
    expect(decisions).toHaveLength(8);
    expect(decisions.filter((d) => d.reviewer === 'bob').map((d) => d.verdict)).toEqual(['accept', 'reject', 'accept', 'reject']);
    expect(
      decisions
        .filter((d) => d.segmentId === segmentOf.get(FOURTH))
        .map((d) => `${d.reviewer}:${d.verdict}`)
        .sort(),
    ).toEqual(['alice:accept', 'bob:reject']);
  });

  it('the server keeps to loopback, its own Host, JSON from its own page, and media by number', async () => {
    const response = await fetch(server!.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    const html = await response.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]|\son\w+=|<style/);
    expect(new URL(server!.url).hostname).toBe('127.0.0.1');
    const { request } = await import('node:http');
    const raw = (path: string, headers: Record<string, string>, method = 'GET', body?: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(server!.url);
        const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await raw('/', { Host: 'attacker.example' })).toBe(403);
    const post = (headers: Record<string, string>) => fetch(`${server!.url}api/decisions`, { method: 'POST', headers, body: JSON.stringify({ sample: 0 }) });
    expect((await post({ 'content-type': 'text/plain', 'x-emoforge-review': '1' })).status).toBe(415);
    expect((await post({ 'content-type': 'application/json' })).status).toBe(403);
    expect((await post({ 'content-type': 'application/json', 'x-emoforge-review': '1', origin: 'http://attacker.example' })).status).toBe(403);
    expect((await post({ 'content-type': 'application/json', 'x-emoforge-review': '1', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const decide = (body: unknown) =>
      fetch(`${server!.url}api/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-emoforge-review': '1' },
        body: JSON.stringify(body),
      });
    expect((await decide({ id: 'unknown0001', segmentId: 'f'.repeat(64), hash: 'f'.repeat(64), reviewer: 'eve', verdict: 'accept' })).status).toBe(404);
    const changed = await decide({ id: 'changed0001', segmentId: segmentOf.get(FOURTH), hash: 'f'.repeat(64), reviewer: 'eve', verdict: 'accept' });
    expect(changed.status).toBe(409);
    expect((await changed.json()).error).toMatch(/not the one the page showed: reload the page/);
    for (const path of [
      '/media/../../../etc/passwd',
      '/media/%2e%2e%2fmanifest.json',
      '/media/999999',
      '/media/-1',
      '/manifest.json',
      '/../README.md',
      '/media/0/../../stats.json',
    ]) {
      expect(await raw(path, {}), path).toBe(404);
    }
    const media = await fetch(`${server!.url}media/0`, { headers: { range: 'bytes=0-9' } });
    expect(media.status).toBe(206);
    expect(media.headers.get('content-range')).toMatch(/^bytes 0-9\/\d+$/);

    // Anywhere but loopback, nothing without the token.
    const open = await serve([out, '--store', store, '--log', LOG, '--port', '0', '--host', '0.0.0.0']);
    try {
      const url = new URL(open.url);
      const token = url.searchParams.get('token');
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(open.stdout).toContain('the address carries the access token');
      const at = `http://127.0.0.1:${url.port}`;
      for (const path of ['/', '/review.js', '/api/state', '/api/samples/0', '/media/0']) expect((await fetch(`${at}${path}`)).status, path).toBe(401);
      expect((await fetch(`${at}/api/state?token=wrong${token!.slice(5)}`)).status).toBe(401);
      const first = await fetch(`${at}/?token=${token}`);
      expect(first.status).toBe(200);
      const cookie = first.headers.get('set-cookie')!;
      expect(cookie).toMatch(/^emoforge_review=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=\/$/);
      expect((await fetch(`${at}/api/state`, { headers: { cookie: cookie.split(';')[0] } })).status).toBe(200);
    } finally {
      await stop(open);
    }
  });

  it('a reject reason picked while the shown sample is fetched again stays picked; another sample starts blank', async () => {
    const carol = await reviewerPage('carol');
    try {
      await open(carol.page, ACCEPT);
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      await carol.page.route('**/api/samples/*', async (route) => {
        await held;
        await route.continue();
      });
      // Clicking the sample already shown fetches it again; the reviewer picks a reason meanwhile.
      await carol.page.click(`#items li[data-i="${index.get(ACCEPT)}"] button`);
      await carol.page.waitForSelector('#sample[aria-busy]', { state: 'attached' });
      await carol.page.selectOption('#reject-reason', 'wrong-emotion');
      await carol.page.fill('#reject-note', 'the smile is posed');
      release();
      await carol.page.waitForSelector('#sample:not([aria-busy])', { state: 'attached' });
      expect(await carol.page.locator('#sample-name').textContent()).toBe(ACCEPT);
      expect(await carol.page.inputValue('#reject-reason')).toBe('wrong-emotion');
      expect(await carol.page.inputValue('#reject-note')).toBe('the smile is posed');
      await carol.page.unroute('**/api/samples/*');
      await open(carol.page, FOURTH);
      expect(await carol.page.inputValue('#reject-reason')).toBe('');
      expect(await carol.page.inputValue('#reject-note')).toBe('');
      expect(carol.problems).toEqual([]);
    } finally {
      await carol.context.close();
    }
  });

  it('the next run applies the decisions, re-queues the sample whose teacher text changed, and reports acceptance and agreement', async () => {
    await stop(server);
    // ACCEPT's transcript changes (as many words, so the corpus's speech-rate baseline and every other
    // segment's cues stay as they were), so its teacher text does too: the accepts no longer apply.
    const manifest = await readFile(join(input, 'manifest.csv'), 'utf8');
    await writeFile(join(input, 'manifest.csv'), manifest.replace('you broke it again, i am so angry with you!', 'you broke it again, i am so mad at you!'));
    const run = await cli(['run', config, '--input', input, '--out', out, '--store', store]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/dropped: human-rejected 2/);
    expect(run.stdout).toMatch(/flagged \(kept\): .*human-edited 1/);
    expect(run.stdout).toMatch(/flagged \(kept\): .*review-stale 1/);

    const manifestJson = await readJson(join(out, 'manifest.json'));
    const rows = (await Promise.all(manifestJson.shards.map((s: { file: string }) => readRowsHyparquet(join(out, s.file))))).flat();
    const of = (name: string) => rows.filter((r) => r.name === name);
    const description = of(EDIT).find((r) => r.task === 'description')!;
    expect((description.conversations as { value: string }[])[1].value).toBe(EDITED_TEXT);
    expect(description).toMatchObject({ teacher: 'human', model: 'alice', template: 'review.human@1', review: 'edited' });
    expect(of(EDIT).every((r) => r.review === 'edited')).toBe(true);
    expect(
      of(EDIT)
        .filter((r) => r.task !== 'description')
        .every((r) => r.teacher === 'rules'),
    ).toBe(true);
    expect(of(ACCEPT).length).toBeGreaterThan(0);
    expect(of(ACCEPT).every((r) => r.review === 'none')).toBe(true);
    expect(of(REJECT)).toEqual([]);
    expect(of(FOURTH)).toEqual([]);

    const rejects = await readRowsHyparquet(join(out, 'rejects.parquet'));
    const human = rejects.filter((r) => r.reason === 'human-rejected');
    expect(human.map((r) => [r.stage, r.id]).sort()).toEqual(
      [
        ['review', segmentOf.get(REJECT)],
        ['review', segmentOf.get(FOURTH)],
      ].sort(),
    );
    expect(human.find((r) => r.id === segmentOf.get(FOURTH))?.detail).toMatch(/^rejected by bob \(bad-media\) \[content [0-9a-f]{12}, /);
    const stats = await readJson(join(out, 'stats.json'));
    expect(stats.stages.review).toMatchObject({ in: 4, out: 2, dropped: { 'human-rejected': 2 }, flagged: { 'human-edited': 1, 'review-stale': 1 } });

    // The reviewed subset is its own config.
    expect(manifestJson.reviewed.shards.reduce((n: number, s: { rows: number }) => n + s.rows, 0)).toBe(of(EDIT).length);
    const card = await readFile(join(out, 'README.md'), 'utf8');
    const front = parseYaml(card.split('---')[1]);
    expect(front.configs.map((c: { config_name: string }) => c.config_name)).toEqual(['default', 'reviewed']);
    expect(card).toContain('## Human review');
    const report = await readFile(join(out, 'report.html'), 'utf8');
    expect(report).toContain('3 segments reviewed: 0 accepted as they were, 1 edited, 2 rejected; 1 went back to the review queue');
    // On current content: EDIT keep/keep, REJECT reject/reject, FOURTH keep/reject (ACCEPT's votes are stale): po 2/3, pe 4/9.
    expect(report).toMatch(/<td>alice · bob<\/td><td>3<\/td><td>0\.40<\/td><td>66\.7%<\/td><td>100\.0% \[[\d.]+%, 100\.0%\] \(1\/1\)<\/td>/);
    expect(report).toContain('<td>wrong-emotion</td><td>1</td>');
    expect(report).not.toContain('<b>smiles</b>');

    // The page over the new version: the stale sample is unreviewed again, the rejected ones are in the rejected queue.
    server = await serve([out, '--store', store, '--log', LOG, '--port', '0']);
    const unreviewed = await (await fetch(`${server.url}api/state?reviewer=alice&queue=unreviewed`)).json();
    expect(unreviewed.samples.map((s: { name: string }) => s.name)).toEqual([ACCEPT]);
    expect(unreviewed.samples[0]).toMatchObject({ stale: 2, votes: [], published: 'none' });
    const rejected = await (await fetch(`${server.url}api/state?reviewer=alice&queue=rejected`)).json();
    expect(rejected.samples.map((s: { name: string }) => s.name).sort()).toEqual([REJECT, FOURTH].sort());
    expect(rejected.samples.every((s: { inCorpus: boolean }) => !s.inCorpus)).toBe(true);
    const editedSample = (await (await fetch(`${server.url}api/state?reviewer=alice`)).json()).samples.find((s: { name: string }) => s.name === EDIT);
    const detail = await (await fetch(`${server.url}api/samples/${editedSample.i}`)).json();
    expect(detail).toMatchObject({ published: 'edited', applied: { verdict: 'edit', reviewer: 'alice' } });
    // The page shows the teacher's text that was judged; the shards carry the reviewer's.
    expect(detail.description.text).not.toBe(EDITED_TEXT);
    expect(detail.description.provenance.teacher).toBe('rules');

    const exported = await cli(['export', out, '--format', 'jsonl', '--reviewed', '--dest', join(work, 'reviewed-export')]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`${rows.length - of(EDIT).length} not human-reviewed left out`);
    const report2 = await readJson(join(work, 'reviewed-export', 'export-report.json'));
    expect(report2.written).toBe(of(EDIT).length);
  });

  it('static workers and finalize apply the same decisions', async () => {
    for (const worker of ['0/2', '1/2']) expect((await cli(['run', config, '--input', input, '--store', store, '--worker', worker])).code).toBe(0);
    const finalOut = join(work, 'finalized');
    const finalized = await cli(['finalize', config, '--input', input, '--store', store, '--out', finalOut]);
    expect(finalized.code).toBe(0);
    const read = async (dir: string) => {
      const m = await readJson(join(dir, 'manifest.json'));
      const rows = (await Promise.all(m.shards.map((s: { file: string }) => readRowsHyparquet(join(dir, s.file))))).flat();
      return rows.map((r) => JSON.stringify([r.id, r.review, r.teacher, r.model, r.conversations])).sort();
    };
    expect(await read(finalOut)).toEqual(await read(out));
  });
});
