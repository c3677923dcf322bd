// Offline English ASR with Debian's pocketsphinx_continuous (CMU Sphinx, BSD licence). One child
// process per call: it loads the en-us model (~1 s), decodes the WAV and prints each utterance's
// hypothesis followed by one "word start end confidence" line per word (-time yes).
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { FatalError, RecordError, TransientRecordError } from '../../pipelines/errors.ts';

export const POCKETSPHINX_BINARY = 'pocketsphinx_continuous';
export const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
const INSTALL_HINT = 'install with: apt-get install -y pocketsphinx pocketsphinx-en-us';

export interface PocketsphinxOptions {
  readonly signal: AbortSignal;
  /** Where pocketsphinx writes its log; its tail goes into the error when decoding fails. Default: discarded. */
  readonly logPath?: string;
  /** Executable to run; default pocketsphinx_continuous from PATH. */
  readonly binary?: string;
}

export interface WordTiming {
  readonly word: string;
  /** seconds from the start of the audio file */
  readonly start: number;
  readonly end: number;
}

export interface Recognition {
  /** Recognised words joined by single spaces; '' when nothing was recognised. */
  readonly text: string;
  readonly words: WordTiming[];
}

/** Silence and noise tokens of the en-us noise dictionary, plus utterance markers. */
const FILLER = /^(<s>|<\/s>|<sil>|\[[A-Z_]+\]|\+\+?[A-Z_]+\+?\+)$/;
/** Pronunciation variants print as word(2), word(3)... */
const ALTERNATE = /\(\d+\)$/;
const WORD_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/;

/** Decodes a 16 kHz mono 16-bit PCM WAV. Throws FatalError when the engine is missing, RecordError('asr-failed') when decoding fails. */
export async function recognizeWithPocketsphinx(wavPath: string, options: PocketsphinxOptions): Promise<Recognition> {
  await assertModelInstalled();
  const stdout = await runDecoder(wavPath, options);
  return parseDecoderOutput(stdout);
}

let modelChecked: Promise<void> | undefined;

function assertModelInstalled(): Promise<void> {
  modelChecked ??= stat(`${POCKETSPHINX_MODEL_DIR}/en-us/mdef`).then(
    () => undefined,
    (error: unknown) => {
      modelChecked = undefined;
      throw new FatalError(`pocketsphinx's en-us model is missing (${POCKETSPHINX_MODEL_DIR}); ${INSTALL_HINT}`, { cause: error });
    },
  );
  return modelChecked;
}

function runDecoder(wavPath: string, options: PocketsphinxOptions): Promise<string> {
  const { signal } = options;
  const binary = options.binary ?? POCKETSPHINX_BINARY;
  const args = ['-infile', wavPath, '-time', 'yes', '-logfn', options.logPath ?? '/dev/null'];
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onAbort);
      if (error.code === 'ENOENT') reject(new FatalError(`${binary} not found; ${INSTALL_HINT}`, { cause: error }));
      else reject(new FatalError(`could not start ${binary}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(signal.reason);
      if (code === 0) return resolve(Buffer.concat(stdout).toString('utf8'));
      void logTail(options.logPath, Buffer.concat(stderr).toString('utf8')).then((tail) =>
        // Killed from outside (OOM killer, an operator): transient. An exit code: the same WAV fails the same way.
        reject(
          code === null
            ? new TransientRecordError('asr-failed', `${binary} was killed by ${killedBy} on ${wavPath}; the next run tries again`, { service: binary })
            : new RecordError('asr-failed', `${binary} exited with code ${code} on ${wavPath}${tail ? `: ${tail}` : ''}`),
        ),
      );
    });
  });
}

/** The last ERROR/FATAL lines of the log (or stderr), which say why pocketsphinx gave up. */
async function logTail(logPath: string | undefined, stderr: string): Promise<string> {
  const log = logPath ? await readFile(logPath, 'utf8').catch(() => '') : '';
  const lines = `${log}\n${stderr}`
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const errors = lines.filter((line) => /^(ERROR|FATAL)/.test(line));
  return (errors.length > 0 ? errors : lines).slice(-3).join(' | ');
}

/** Word lines give text and timings; hypothesis lines are only used when no word lines were printed. */
export function parseDecoderOutput(stdout: string): Recognition {
  const words: WordTiming[] = [];
  const hypotheses: string[] = [];
  let sawWordLines = false;
  for (const line of stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const match = WORD_LINE.exec(line);
    if (!match) {
      hypotheses.push(line);
      continue;
    }
    sawWordLines = true;
    const token = match[1];
    if (FILLER.test(token)) continue;
    words.push({ word: token.replace(ALTERNATE, ''), start: Number(match[2]), end: Number(match[3]) });
  }
  const text = sawWordLines
    ? words.map((w) => w.word).join(' ')
    : hypotheses
        .join(' ')
        .split(/\s+/)
        .filter((token) => token && !FILLER.test(token))
        .map((token) => token.replace(ALTERNATE, ''))
        .join(' ');
  return { text, words };
}
