// File-system failures said as a user can act on them: what failed, where, and what to do, as a
// FatalError that keeps the original error as its cause (the CLI prints no stack unless --debug).
import { FatalError } from './errors.ts';

/** A Node error from a file-system call: an errno code, usually a syscall and a path. */
export function isFsError(error: unknown): error is NodeJS.ErrnoException {
  const e = error as NodeJS.ErrnoException | undefined;
  return e instanceof Error && typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && (typeof e.syscall === 'string' || typeof e.path === 'string');
}

export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The FatalError for a file-system failure. `afterwards` says what state it left behind (e.g. "OUT is
 * unchanged"); it goes before what to do.
 */
export function fsFailure(error: NodeJS.ErrnoException, afterwards?: string): FatalError {
  const where = error.path ?? 'a file';
  const call = error.syscall ?? 'access';
  const left = afterwards ? `${afterwards}; ` : '';
  let message: string;
  switch (error.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      message = `the disk is full (${error.code}) writing ${where}: ${left || 'OUT is unchanged; '}free space and run again`;
      break;
    case 'EROFS':
      message = `${where} is on a read-only file system (EROFS, ${call}): ${left}choose a writable folder (--out, --store) or make that file system writable`;
      break;
    case 'EACCES':
    case 'EPERM':
      message = `permission denied (${error.code}) to ${call} ${where}: ${left}give this user write access to it, or choose another folder (--out, --store)`;
      break;
    case 'ENOTDIR':
      message = `a part of ${where} is a file, not a folder (ENOTDIR, ${call}): ${left}move that file away or choose another folder`;
      break;
    case 'EEXIST':
      message = `${where} exists and is not a folder (EEXIST, ${call}): ${left}move it away or choose another folder`;
      break;
    case 'EISDIR':
      message = `${where} is a folder where a file was expected (EISDIR, ${call}): ${left}move it away`;
      break;
    case 'EMFILE':
    case 'ENFILE':
      message = `too many open files (${error.code}) opening ${where}: ${left}raise the limit (ulimit -n) or lower concurrency`;
      break;
    case 'ENOENT':
      message = `${where} does not exist (ENOENT, ${call}): ${left}check the path, or whether something removed it during the run`;
      break;
    default:
      message = `${call} ${where} failed (${error.code}): ${error.message}${afterwards ? `; ${afterwards}` : ''}`;
  }
  return new FatalError(message, { cause: error });
}

/** Checks a folder the run writes to before any work: it is a folder (or can be made one) and is writable. */
export async function assertWritableFolder(path: string, option: string): Promise<void> {
  const { mkdir, rm, stat, writeFile } = await import('node:fs/promises');
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isDirectory()) throw new FatalError(`${option} ${path} is a file, not a folder: move it away or choose another ${option}`);
  const probe = `${path}/.emoforge-write-check-${process.pid}`;
  try {
    await mkdir(path, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    if (isFsError(error)) throw fsFailure(await realCause(error, path), `${option} ${path} is not writable`);
    throw error;
  }
}

/**
 * A recursive mkdir on a read-only or unwritable file system reports ENOENT; creating the first
 * missing folder alone says what is wrong (EROFS, EACCES).
 */
async function realCause(error: NodeJS.ErrnoException, path: string): Promise<NodeJS.ErrnoException> {
  if (error.code !== 'ENOENT' || error.syscall !== 'mkdir') return error;
  const { mkdir, rmdir, stat } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  let missing = path;
  while (
    dirname(missing) !== missing &&
    !(await stat(dirname(missing)).then(
      () => true,
      () => false,
    ))
  )
    missing = dirname(missing);
  try {
    await mkdir(missing);
    await rmdir(missing);
    return error;
  } catch (cause) {
    return isFsError(cause) ? cause : error;
  }
}
