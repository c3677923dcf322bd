// Finds the face the sample clips show: the public-domain NASA portrait of astronaut Eileen Collins
// that Debian ships as `astronaut.png` (512x512) in python3-imageio. Order: an installed copy, a
// cached copy in <repo>/.vendor, else `apt-get download` + `dpkg -x` into that cache (no root needed).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { FatalError } from '../pipelines/errors.ts';
import { repoRoot } from '../pipelines/repo-root.ts';

const execFileAsync = promisify(execFile);

const DEBIAN_PACKAGE = 'python3-imageio';
const PATH_IN_PACKAGE = 'usr/lib/python3/dist-packages/imageio/resources/images/astronaut.png';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function isPng(file: string): Promise<boolean> {
  try {
    const head = (await readFile(file)).subarray(0, PNG_MAGIC.length);
    return head.equals(PNG_MAGIC);
  } catch {
    return false;
  }
}

/**
 * Absolute path of astronaut.png, downloading the Debian package into `<repo>/.vendor` when it is
 * neither installed (at `installed`) nor cached. Throws a FatalError naming the command to run when
 * all fail.
 */
export function findFaceImage(root: string = repoRoot(), installed: string = join('/', PATH_IN_PACKAGE)): Promise<string> {
  // One look-up per cache folder at a time in this process: callers that ask at once (the test
  // suite's set-up makes several clip sets in parallel) share it instead of racing to fill the cache.
  const key = `${root}\n${installed}`;
  let finding = finds.get(key);
  if (!finding) {
    finding = find(root, installed).finally(() => finds.delete(key));
    finds.set(key, finding);
  }
  return finding;
}

const finds = new Map<string, Promise<string>>();

async function find(root: string, installed: string): Promise<string> {
  if (await isPng(installed)) return installed;
  const cached = join(root, '.vendor', 'astronaut.png');
  if (await isPng(cached)) return cached;

  const work = await mkdtemp(join(tmpdir(), 'emoforge-imageio-'));
  try {
    await execFileAsync('apt-get', ['download', DEBIAN_PACKAGE], { cwd: work, maxBuffer: 16 << 20 });
    const deb = (await readdir(work)).find((f) => f.startsWith(`${DEBIAN_PACKAGE}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download left no ${DEBIAN_PACKAGE}_*.deb in ${work}`);
    await execFileAsync('dpkg', ['-x', join(work, deb), join(work, 'x')], { maxBuffer: 16 << 20 });
    const extracted = join(work, 'x', PATH_IN_PACKAGE);
    if (!(await isPng(extracted))) throw new Error(`${deb} holds no PNG at ${PATH_IN_PACKAGE}`);
    await mkdir(dirname(cached), { recursive: true });
    // copy then rename so a concurrent run never reads a half-written cache
    const partial = `${cached}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
    await copyFile(extracted, partial);
    await rename(partial, cached);
    return cached;
  } catch (err) {
    throw new FatalError(
      `sample clips need the astronaut portrait from Debian's ${DEBIAN_PACKAGE} package and could not get it ` +
        `(${(err as Error).message.split('\n')[0]}). Install it with: apt-get install -y ${DEBIAN_PACKAGE}  ` +
        `— or copy /${PATH_IN_PACKAGE} from any machine that has it to ${cached}`,
      { cause: err },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
