// The emoforge review page. Everything it shows comes from the server's JSON and is written as text
// nodes (never as HTML): clip names, transcripts and teacher text are hostile input. A decision is
// kept in localStorage (the outbox) until the server has stored it, so a reload, a dropped
// connection or a closed tab never loses one; edits in progress are kept as drafts the same way.

const OUTBOX = 'emoforge-review:outbox';
const DRAFT = 'emoforge-review:draft:';
const REVIEWER = 'emoforge-review:reviewer';
const RETRY_MS = 3000;

const page = {
  reviewer: '',
  queue: 'random',
  state: null,
  current: null,
  detail: null,
  sending: false,
  opening: 0,
};

// ------------------------------------------------------------------------------------------------
// DOM helpers: text only.

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'value') node.value = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const $ = (id) => document.getElementById(id);
const fixed = (n, d) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : '–');
const pct = (n) => (typeof n === 'number' ? `${(100 * n).toFixed(1)}%` : '–');
/** Only the server's own media addresses become a src. */
const mediaUrl = (url) => (typeof url === 'string' && /^\/media\/\d+$/.test(url) ? url : null);

function notice(text, kind) {
  const box = $('notice');
  box.hidden = !text;
  box.className = kind === 'info' ? 'info' : '';
  box.textContent = text || '';
}

// ------------------------------------------------------------------------------------------------
// Talking to the server.

async function api(path, init) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...init });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function outbox() {
  try {
    return JSON.parse(localStorage.getItem(OUTBOX) || '[]');
  } catch {
    return [];
  }
}

function saveOutbox(list) {
  localStorage.setItem(OUTBOX, JSON.stringify(list));
  const pending = list.length;
  $('sync').textContent = pending ? `${pending} decision${pending === 1 ? '' : 's'} waiting to be saved…` : 'all decisions saved';
  $('sync').className = pending ? 'badge edit' : 'badge accept';
}

/** Sends every waiting decision, oldest first. Returns the errors the server refused decisions with. */
async function flushOutbox() {
  if (page.sending) return [];
  page.sending = true;
  const refused = [];
  try {
    for (;;) {
      const list = outbox();
      if (list.length === 0) break;
      const decision = list[0];
      try {
        await api('/api/decisions', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Emoforge-Review': '1' },
          body: JSON.stringify(decision),
        });
      } catch (error) {
        // The server said no (invalid edit, changed content): drop it and say why. Anything else: retry later.
        if (!error.status || error.status >= 500) {
          setTimeout(() => void flushOutbox().then(reportRefused), RETRY_MS);
          break;
        }
        refused.push({ decision, error: error.message });
      }
      saveOutbox(outbox().filter((d) => d.id !== decision.id));
    }
  } finally {
    page.sending = false;
  }
  return refused;
}

function reportRefused(refused) {
  if (refused.length) notice(`Not saved: ${refused.map((r) => r.error).join(' · ')}`);
}

function randomId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ------------------------------------------------------------------------------------------------
// The queue and the list.

async function loadState(keepCurrent) {
  const params = new URLSearchParams({ reviewer: page.reviewer, queue: page.queue });
  page.state = await api(`/api/state?${params}`);
  const s = page.state;
  $('corpus').textContent = s.corpus;
  $('log').textContent = `review log ${s.log}`;
  renderQueues();
  renderList();
  renderHeader();
  const order = s.queue.order;
  if (!keepCurrent || !order.includes(page.current)) {
    page.current = nextUndecided(-1) ?? order[0] ?? null;
  }
  highlight();
}

function renderQueues() {
  const select = $('queue');
  select.replaceChildren(
    ...page.state.queues.map((q) => el('option', { value: q.name, text: `${q.title} (${q.size})`, selected: q.name === page.state.queue.name })),
  );
}

function summaryOf(i) {
  return page.state.samples.find((s) => s.i === i);
}

function statusBadges(summary) {
  const badges = [];
  if (summary.mine) badges.push(el('span', { class: `badge ${summary.mine}`, text: `you: ${summary.mine}` }));
  const others = summary.votes.filter((v) => v.reviewer !== page.reviewer);
  if (others.length) badges.push(el('span', { class: 'badge', text: `${others.length} other${others.length === 1 ? '' : 's'}` }));
  if (!summary.votes.length && summary.stale) badges.push(el('span', { class: 'badge stale', text: 'stale' }));
  if (!summary.inCorpus) badges.push(el('span', { class: 'badge rejected', text: 'dropped' }));
  return badges;
}

function renderList() {
  const items = page.state.samples.map((s) =>
    el(
      'li',
      { 'data-i': s.i, class: s.i === page.current ? 'current' : '' },
      el('button', { type: 'button', onclick: () => void openSample(s.i) }, el('span', { class: 'name', text: s.name }), el('span', {}, statusBadges(s))),
    ),
  );
  if (page.state.queue.size > page.state.samples.length)
    items.push(el('li', { class: 'muted', text: `… ${page.state.queue.size - page.state.samples.length} more` }));
  $('items').replaceChildren(...items);
}

function renderHeader() {
  const s = page.state;
  const p = s.progress;
  $('progress').textContent =
    `${p.decided}/${p.samples} samples decided · ${p.mine} by you${p.stale ? ` · ${p.stale} back in the queue (content changed)` : ''}`;
  const e = s.estimate;
  const parts = [];
  if (e.total) parts.push(`random sample: accepted as is ${pct(e.rate)} (95% CI ${pct(e.low)}–${pct(e.high)}, n = ${e.total})`);
  for (const a of s.agreement) parts.push(`κ ${a.a}·${a.b} = ${a.kappa === null ? 'n/a' : fixed(a.kappa, 2)} (n = ${a.items})`);
  $('estimate').textContent = parts.join(' · ');
  if (s.missingSnapshots)
    notice(`${s.missingSnapshots} published segments have no review snapshot in this store (run the pipeline again with this store to review them).`, 'info');
}

function highlight() {
  for (const li of $('items').children) li.classList.toggle('current', Number(li.dataset.i) === page.current);
}

function nextUndecided(after) {
  const order = page.state.queue.order;
  const start = order.indexOf(after) + 1;
  for (let k = 0; k < order.length; k++) {
    const i = order[(start + k) % order.length];
    const summary = summaryOf(i);
    if (summary && !summary.mine && i !== after) return i;
  }
  return null;
}

function step(delta) {
  const order = page.state.queue.order;
  if (!order.length) return;
  const at = order.indexOf(page.current);
  const next = order[Math.min(order.length - 1, Math.max(0, at + delta))];
  void openSample(next);
}

// ------------------------------------------------------------------------------------------------
// One sample.

async function openSample(i) {
  if (i === null || i === undefined) {
    $('sample').replaceChildren(el('p', { class: 'muted', text: 'This queue is empty.' }));
    return;
  }
  page.current = i;
  highlight();
  // Only the latest request renders: a slower answer for a sample left meanwhile is dropped. Until it
  // has rendered, the sample is marked busy (a reject reason picked now would go with the old form).
  const ticket = ++page.opening;
  $('sample').setAttribute('aria-busy', 'true');
  let detail;
  try {
    detail = await api(`/api/samples/${i}`);
  } finally {
    if (ticket === page.opening) $('sample').removeAttribute('aria-busy');
  }
  if (ticket !== page.opening) return;
  page.detail = detail;
  renderSample();
  const params = new URLSearchParams(location.search);
  params.set('sample', String(i));
  history.replaceState(null, '', `?${params}`);
}

function provenance(p) {
  return p ? el('div', { class: 'prov', text: `written by ${p.teacher} · ${p.model} · ${p.template}` }) : null;
}

/** A textarea as tall as its text (2 to 8 lines). */
function textBox(props, text) {
  const lines = String(text)
    .split('\n')
    .reduce((n, line) => n + Math.max(1, Math.ceil(line.length / 80)), 0);
  return el('textarea', { ...props, rows: Math.min(8, Math.max(2, lines)), value: text });
}

function field(label, control, ...extra) {
  return el('div', { class: 'field' }, el('label', { text: label }), control, extra);
}

function renderMedia(d) {
  const video = mediaUrl(d.media.video);
  const audio = mediaUrl(d.media.audio);
  const frames = d.media.frames.filter((f) => mediaUrl(f.url));
  const faces = d.media.faces.filter((f) => mediaUrl(f.url));
  return el(
    'section',
    { id: 'media' },
    el('h3', { text: 'Video, audio, keyframes, face crops' }),
    el(
      'div',
      { class: 'media' },
      video ? el('video', { id: 'video', src: video, controls: true, preload: 'metadata' }) : el('p', { class: 'muted', text: 'no video' }),
      audio ? el('audio', { id: 'audio', src: audio, controls: true, preload: 'metadata' }) : el('p', { class: 'muted', text: 'no audio' }),
    ),
    el(
      'div',
      { class: 'media' },
      frames.map((f) =>
        el('figure', {}, el('img', { src: mediaUrl(f.url), alt: `keyframe at ${fixed(f.time, 2)} s` }), el('figcaption', { text: `${fixed(f.time, 2)} s` })),
      ),
    ),
    faces.length
      ? el(
          'div',
          { class: 'media' },
          faces.map((f) =>
            el(
              'figure',
              { class: 'face' },
              el('img', { src: mediaUrl(f.url), alt: `face crop at ${fixed(f.time, 2)} s` }),
              el('figcaption', { text: `face ${fixed(f.time, 2)} s` }),
            ),
          ),
        )
      : null,
  );
}

function topExpressions(expressions, n) {
  return Object.entries(expressions || {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, n);
}

function renderCues(d) {
  const cues = d.cues || {};
  const parts = [el('h3', { text: 'Cues' })];
  const v = cues.visual;
  if (v) {
    parts.push(
      el('p', {
        text: `Face: dominant ${v.dominant ?? 'none'} · stability ${fixed(v.stability, 2)} · face in ${pct(v.faceRatio)} of keyframes (${v.detector})`,
      }),
    );
    parts.push(
      el(
        'table',
        { id: 'expressions' },
        el('thead', {}, el('tr', {}, el('th', { text: 'time' }), el('th', { text: 'faces' }), el('th', { text: 'expressions (top 3)' }))),
        el(
          'tbody',
          {},
          v.frames.map((f) =>
            el(
              'tr',
              {},
              el('td', { class: 'n', text: `${fixed(f.time, 2)} s` }),
              el('td', { class: 'n', text: f.faces }),
              el(
                'td',
                {},
                f.expressions
                  ? topExpressions(f.expressions, 3).map(([name, p]) =>
                      el('span', {}, `${name} `, el('meter', { min: 0, max: 1, value: p }), ` ${fixed(p, 2)}  `),
                    )
                  : 'no face',
              ),
            ),
          ),
        ),
      ),
    );
  }
  const a = cues.acoustic;
  if (a) {
    const rows = [
      ['F0 mean', a.f0MeanHz, 'Hz', 1],
      ['F0 sd', a.f0SdHz, 'Hz', 1],
      ['F0 range', a.f0MinHz === null ? null : `${fixed(a.f0MinHz, 1)}–${fixed(a.f0MaxHz, 1)}`, 'Hz', 1],
      ['F0 slope', a.f0SlopeHzPerS, 'Hz/s', 1],
      ['loudness', a.loudnessLufs, 'LUFS', 1],
      ['speech energy', a.rmsDb, 'dBFS', 1],
      ['energy spread', a.rmsSdDb, 'dB', 1],
      ['voiced', a.voicedRatio, '', 2],
      ['pauses', a.pauseRatio, '', 2],
      ['speech rate', a.speechRate, a.speechRateSource === 'transcript' ? 'words/s' : 'syllables/s', 2],
    ];
    parts.push(
      el(
        'table',
        { id: 'prosody' },
        el(
          'tbody',
          {},
          rows.map(([name, value, unit, digits]) =>
            el(
              'tr',
              {},
              el('th', { text: name }),
              el('td', { class: 'n', text: typeof value === 'string' ? value : fixed(value, digits) }),
              el('td', { text: unit }),
            ),
          ),
        ),
      ),
    );
  }
  const l = cues.lexical;
  if (l)
    parts.push(
      el('p', {
        text: `Words: sentiment ${l.sentiment} (${fixed(l.score, 2)})${l.emotionWords.length ? ` · emotion words ${l.emotionWords.map((w) => `${w.word} → ${w.emotion}`).join(', ')}` : ''}`,
      }),
    );
  const g = cues.agreement;
  if (g) {
    const m = (x) => (x ? `${x.emotion} (${fixed(x.confidence, 2)})` : '–');
    parts.push(
      el(
        'p',
        {},
        'Modalities: ',
        el('span', { class: 'badge', id: 'conflict', text: g.tag }),
        ` · face ${m(g.visual)} · voice ${m(g.acoustic)} · words ${m(g.lexical)} · reference ${g.reference.emotion ?? 'none'} (${g.reference.source})`,
      ),
    );
  }
  if (d.clues?.visual) parts.push(el('p', { class: 'pre', text: `Visual clues: ${d.clues.visual.text}` }), provenance(d.clues.visual.provenance));
  if (d.clues?.acoustic) parts.push(el('p', { class: 'pre', text: `Audio clues: ${d.clues.acoustic.text}` }), provenance(d.clues.acoustic.provenance));
  return el('section', { id: 'cues' }, parts);
}

function emotionSelect(id, value) {
  return el(
    'select',
    { id, 'data-edit': 'true' },
    page.state.emotions.map((e) => el('option', { value: e, text: e, selected: e === value })),
  );
}

/** The teacher's text beside an edited field, folded. */
function teacherText(shown, original) {
  return shown !== original
    ? el('details', { class: 'original' }, el('summary', { text: "teacher's text" }), el('div', { class: 'pre', text: original }))
    : null;
}

function renderGenerated(d, draft) {
  const parts = [el('h3', { text: 'Generated text (edit any of it)' })];
  if (d.description) {
    const text = draft?.description?.text ?? d.description.text;
    parts.push(
      field(
        'Description',
        textBox({ id: 'edit-description', 'data-edit': 'true' }, text),
        teacherText(text, d.description.text),
        provenance(d.description.provenance),
      ),
    );
  }
  if (d.labels) {
    const L = draft?.labels ?? d.labels;
    parts.push(
      el(
        'div',
        { class: 'field', id: 'labels' },
        el('label', { text: 'Labels' }),
        'primary ',
        emotionSelect('edit-primary', L.primary),
        ' open set ',
        el('input', { type: 'text', id: 'edit-openset', 'data-edit': 'true', value: L.openset.join(', '), size: 30 }),
        ' sentiment ',
        el(
          'select',
          { id: 'edit-sentiment', 'data-edit': 'true' },
          ['positive', 'neutral', 'negative'].map((x) => el('option', { value: x, text: x, selected: x === L.sentiment })),
        ),
        ' valence ',
        el('input', { type: 'number', id: 'edit-valence', 'data-edit': 'true', min: -1, max: 1, step: 0.01, value: L.valence }),
        ' arousal ',
        el('input', { type: 'number', id: 'edit-arousal', 'data-edit': 'true', min: -1, max: 1, step: 0.01, value: L.arousal }),
        teacherText(
          `${L.primary} · ${L.openset.join(', ')} · ${L.sentiment} · ${L.valence} · ${L.arousal}`,
          `${d.labels.primary} · ${d.labels.openset.join(', ')} · ${d.labels.sentiment} · ${d.labels.valence} · ${d.labels.arousal}`,
        ),
        provenance(d.labels.provenance),
      ),
    );
  }
  d.qa.forEach((item, n) => {
    const q = draft?.qa?.items?.[n] ?? item;
    parts.push(
      el(
        'div',
        { class: 'qa', 'data-qa': n },
        el('div', { class: 'prov', text: `${item.kind} question ${n + 1}` }),
        field('Question', textBox({ id: `edit-qa-${n}-question`, 'data-edit': 'true' }, q.question)),
        item.kind === 'mcq'
          ? field(
              'Options (comma-separated)',
              el('input', { type: 'text', class: 'wide', id: `edit-qa-${n}-options`, 'data-edit': 'true', value: (q.options || []).join(', ') }),
            )
          : null,
        field(
          'Answer',
          textBox({ id: `edit-qa-${n}-answer`, 'data-edit': 'true' }, q.answer),
          teacherText(`${q.question}\n${q.answer}`, `${item.question}\n${item.answer}`),
        ),
        provenance(item.provenance),
      ),
    );
  });
  if (d.rationale) {
    const R = draft?.rationale ?? d.rationale;
    parts.push(
      field(
        'Rationale (one step a line)',
        textBox({ id: 'edit-steps', 'data-edit': 'true' }, R.steps.join('\n')),
        teacherText(R.steps.join('\n'), d.rationale.steps.join('\n')),
        el('div', {}, 'emotion ', emotionSelect('edit-rationale-emotion', R.emotion), provenance(d.rationale.provenance)),
      ),
    );
  }
  return el('section', { id: 'generated' }, parts);
}

function renderJudgements(d) {
  const parts = [];
  if (d.judge) parts.push(el('p', { id: 'judge' }, el('b', { text: `Judge ${d.judge.score}/10: ` }), d.judge.reason), provenance(d.judge.provenance));
  if (d.crosscheck) {
    const c = d.crosscheck;
    parts.push(
      el(
        'p',
        { id: 'crosscheck', class: d.disagreement ? 'flag' : '' },
        el('b', { text: 'Second teacher: ' }),
        `${c.primary} (${c.sentiment}; valence ${fixed(c.valence, 2)}, arousal ${fixed(c.arousal, 2)}) · ${c.openset.join(', ') || 'no open-set words'}${d.disagreement ? ' — disagrees with the labels' : ''}`,
      ),
      provenance(c.provenance),
    );
  }
  for (const flag of d.flags) parts.push(el('p', { class: 'flag', text: `Flag: ${flag}` }));
  return parts.length ? el('section', { id: 'judgements' }, el('h3', { text: 'Judge, second teacher, flags' }), parts) : null;
}

function renderDecisions(d) {
  const mine = d.votes.find((v) => v.reviewer === page.reviewer);
  const lines = d.votes.map((v) =>
    el(
      'li',
      {},
      el('span', { class: `badge ${v.verdict}`, text: v.verdict }),
      ` ${v.reviewer} · ${v.at}${v.reason ? ` · ${v.reason}` : ''}${v.note ? `: ${v.note}` : ''}${v.edits ? ` · rewrote ${Object.keys(v.edits).join(', ')}` : ''}${v.queue ? ` · from ${v.queue}` : ''}`,
    ),
  );
  return el(
    'section',
    { id: 'decisions' },
    el('h3', { text: 'Decisions on this content' }),
    mine
      ? el(
          'p',
          { id: 'my-decision' },
          'Your decision: ',
          el('span', { class: `badge ${mine.verdict}`, text: mine.verdict }),
          mine.verdict === 'edit' ? ' (the fields show your text; "teacher\'s text" opens what it replaces)' : '',
        )
      : el('p', { id: 'my-decision', class: 'muted', text: 'You have not decided on this sample.' }),
    lines.length ? el('ul', {}, lines) : null,
    d.applied ? el('p', { text: `Applies at the next run: ${d.applied.verdict} (by ${d.applied.reviewer}, ${page.state.policy} of the votes).` }) : null,
    d.stale && !d.votes.length
      ? el('p', {
          class: 'badge stale',
          text: `${d.stale} earlier decision${d.stale === 1 ? '' : 's'} judged content that has since changed: review it again.`,
        })
      : null,
    d.stale && d.votes.length ? el('p', { class: 'muted', text: `${d.stale} decision(s) on earlier content no longer apply.` }) : null,
  );
}

function renderActions() {
  return el(
    'div',
    { class: 'actions', id: 'actions' },
    el('button', { type: 'button', class: 'act accept', id: 'accept', onclick: () => void accept(), text: 'Accept (a)' }),
    el('button', { type: 'button', class: 'act edit', id: 'save-edit', onclick: () => void saveEdit(), text: 'Save edit (Ctrl+Enter)' }),
    el(
      'select',
      { id: 'reject-reason', onkeydown: rejectOnEnter },
      el('option', { value: '', text: 'reject reason…' }),
      page.state.rejectReasons.map((r) => el('option', { value: r, text: r })),
    ),
    el('input', { type: 'text', id: 'reject-note', placeholder: 'note (optional)', maxlength: 2000, onkeydown: rejectOnEnter }),
    el('button', { type: 'button', class: 'act reject', id: 'reject', onclick: () => void reject(), text: 'Reject (r)' }),
    el('button', { type: 'button', class: 'act', id: 'next', onclick: () => step(1), text: 'Next (n)' }),
  );
}

function rejectOnEnter(event) {
  if (event.key === 'Enter') {
    event.preventDefault();
    void reject();
  }
}

function renderSample() {
  const d = page.detail;
  // The same sample shown again (the reviewer clicked it, or a decision moved here): a reject reason
  // and note already chosen stay; text edits come back from the draft.
  const again = $('sample-name') && $('sample').dataset.hash === d.hash;
  const kept = again ? { reason: value('reject-reason'), note: value('reject-note') } : null;
  $('sample').dataset.hash = d.hash;
  const saved = d.votes.find((v) => v.reviewer === page.reviewer && v.verdict === 'edit');
  // An unsaved draft first; else this reviewer's saved edit, so they see what they wrote.
  const draft = readDraft(d.hash) ?? saved?.edits ?? null;
  const meta = [
    `${fixed(d.start, 2)}–${fixed(d.end, 2)} s`,
    d.split ? `split ${d.split}` : 'dropped from the corpus',
    d.speaker ? `speaker ${d.speaker}` : null,
    d.manifestLabel ? `manifest label ${d.manifestLabel}` : null,
    `published rows: ${d.published}`,
  ].filter(Boolean);
  $('sample').replaceChildren(
    el(
      'section',
      { id: 'head' },
      el('h2', { id: 'sample-name', text: d.name }),
      el('div', { class: 'muted', text: meta.join(' · ') }),
      el('div', { class: 'muted', text: d.uri }),
      renderActions(),
    ),
    el(
      'div',
      { class: 'columns' },
      el(
        'div',
        {},
        renderMedia(d),
        el(
          'section',
          { id: 'transcript-section' },
          el('h3', { text: 'Transcript' }),
          el('p', { id: 'transcript', class: 'pre', text: d.transcript ? d.transcript.text || '(empty)' : '(none)' }),
          d.transcript ? el('div', { class: 'prov', text: `${d.transcript.engine} · ${d.transcript.language}` }) : null,
        ),
        renderCues(d),
      ),
      el('div', {}, renderDecisions(d), renderJudgements(d), renderGenerated(d, draft)),
    ),
  );
  for (const control of document.querySelectorAll('[data-edit]')) control.addEventListener('input', onEditInput);
  if (kept) {
    $('reject-reason').value = kept.reason;
    $('reject-note').value = kept.note;
  }
  if (readDraft(d.hash)) notice('An unsaved edit of this sample was restored.', 'info');
  markChanged();
}

// ------------------------------------------------------------------------------------------------
// Edits.

function value(id) {
  const node = $(id);
  return node ? node.value : undefined;
}

/** The edited fields, each the whole answer of its teacher; only fields that differ from the teacher's. */
function collectEdits() {
  const d = page.detail;
  const edits = {};
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  if (d.description) {
    const text = value('edit-description').trim();
    if (text !== d.description.text) edits.description = { text };
  }
  if (d.labels) {
    const labels = {
      primary: value('edit-primary'),
      openset: value('edit-openset')
        .split(',')
        .map((w) => w.trim())
        .filter(Boolean),
      sentiment: value('edit-sentiment'),
      valence: Number(value('edit-valence')),
      arousal: Number(value('edit-arousal')),
    };
    const original = {
      primary: d.labels.primary,
      openset: d.labels.openset,
      sentiment: d.labels.sentiment,
      valence: d.labels.valence,
      arousal: d.labels.arousal,
    };
    if (!same(labels, original)) edits.labels = labels;
  }
  if (d.qa.length) {
    const items = d.qa.map((item, n) => {
      const edited = { kind: item.kind, question: value(`edit-qa-${n}-question`).trim() };
      if (item.kind === 'mcq')
        edited.options = value(`edit-qa-${n}-options`)
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);
      edited.answer = value(`edit-qa-${n}-answer`).trim();
      return edited;
    });
    const originals = d.qa.map((item) =>
      item.kind === 'mcq'
        ? { kind: item.kind, question: item.question, options: item.options, answer: item.answer }
        : { kind: item.kind, question: item.question, answer: item.answer },
    );
    if (!same(items, originals)) edits.qa = { items };
  }
  if (d.rationale) {
    const rationale = {
      steps: value('edit-steps')
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean),
      emotion: value('edit-rationale-emotion'),
    };
    if (!same(rationale, { steps: d.rationale.steps, emotion: d.rationale.emotion })) edits.rationale = rationale;
  }
  return edits;
}

function markChanged() {
  const edits = collectEdits();
  $('save-edit').disabled = Object.keys(edits).length === 0;
  $('generated').classList.toggle('changed', Object.keys(edits).length > 0);
  return edits;
}

function onEditInput() {
  const edits = markChanged();
  const key = DRAFT + page.detail.hash;
  if (Object.keys(edits).length) localStorage.setItem(key, JSON.stringify(edits));
  else localStorage.removeItem(key);
}

function readDraft(hash) {
  try {
    return JSON.parse(localStorage.getItem(DRAFT + hash) || 'null');
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------------------
// Decisions.

function needReviewer() {
  if (page.reviewer) return false;
  notice('Enter your name as reviewer first.');
  $('reviewer').focus();
  return true;
}

async function record(verdict, extra) {
  if (needReviewer() || !page.detail) return;
  const d = page.detail;
  const opened = page.opening;
  const decision = { id: randomId(), segmentId: d.segmentId, hash: d.hash, reviewer: page.reviewer, verdict, queue: page.state.queue.name, ...extra };
  saveOutbox([...outbox(), decision]);
  notice('');
  const refused = await flushOutbox();
  if (refused.some((r) => r.decision.id === decision.id)) {
    reportRefused(refused);
    return;
  }
  reportRefused(refused);
  localStorage.removeItem(DRAFT + d.hash);
  await loadState(true);
  // Move on, unless the reviewer has already opened another sample meanwhile.
  if (page.opening !== opened) return;
  const next = nextUndecided(d.i);
  if (next !== null) await openSample(next);
  else await openSample(d.i);
}

function accept() {
  return record('accept', {});
}

function saveEdit() {
  const edits = collectEdits();
  if (Object.keys(edits).length === 0) {
    notice('Nothing is changed: accept the sample instead.');
    return Promise.resolve();
  }
  return record('edit', { edits });
}

function reject() {
  const reason = value('reject-reason');
  if (!reason) {
    notice('Pick a reject reason first (then Enter).');
    $('reject-reason').focus();
    return Promise.resolve();
  }
  return record('reject', { reason, note: value('reject-note') || undefined });
}

// ------------------------------------------------------------------------------------------------
// Keys: single letters act only outside text fields.

function onKey(event) {
  const target = event.target;
  const typing =
    target instanceof HTMLElement && (target.tagName === 'TEXTAREA' || target.tagName === 'SELECT' || (target.tagName === 'INPUT' && target.type !== 'button'));
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    if (target?.dataset?.edit) {
      event.preventDefault();
      void saveEdit();
    }
    return;
  }
  if (event.key === 'Escape' && typing) {
    target.blur();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const actions = {
    a: () => void accept(),
    r: () => $('reject-reason')?.focus(),
    e: () => $('edit-description')?.focus(),
    n: () => step(1),
    j: () => step(1),
    p: () => step(-1),
    k: () => step(-1),
  };
  const action = actions[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
}

// ------------------------------------------------------------------------------------------------

async function start() {
  const params = new URLSearchParams(location.search);
  // The token became an HttpOnly cookie on the first request: keep it out of the address bar and history.
  if (params.has('token')) {
    params.delete('token');
    history.replaceState(null, '', `?${params}`);
  }
  page.queue = params.get('queue') || 'random';
  const wanted = Number(params.get('sample'));
  saveOutbox(outbox());
  const first = await api(`/api/state?${new URLSearchParams({ reviewer: '', queue: page.queue })}`);
  page.reviewer = (params.get('reviewer') || localStorage.getItem(REVIEWER) || first.reviewer || '').trim();
  if (page.reviewer) localStorage.setItem(REVIEWER, page.reviewer);
  if (!params.get('queue')) page.queue = first.queue.name;
  $('reviewer').value = page.reviewer;
  $('reviewer').addEventListener('change', async () => {
    page.reviewer = $('reviewer').value.trim();
    localStorage.setItem(REVIEWER, page.reviewer);
    await loadState(true);
    if (page.current !== null) await openSample(page.current);
  });
  $('queue').addEventListener('change', async () => {
    page.queue = $('queue').value;
    await loadState(false);
    await openSample(page.current);
  });
  document.addEventListener('keydown', onKey);
  reportRefused(await flushOutbox());
  await loadState(false);
  if (Number.isInteger(wanted) && params.has('sample') && page.state.queue.order.includes(wanted)) page.current = wanted;
  await openSample(page.current);
  if (!page.reviewer) needReviewer();
}

start().catch((error) => notice(`The review page could not start: ${error.message}`));
