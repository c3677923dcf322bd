// One side of the refresh-lock race (tests/pipelines/publish/lock.test.ts): from a common start
// time, take and release OUT's lock `rounds` times, and while holding it create a marker file
// exclusively; a marker already there means another process holds the lock too (a violation).
// Prints one JSON line: acquisitions, refusals, violations.
import { closeSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { acquireLock, LockHeldError } from '../../pipelines/publish/lock.ts';

const [outDir, roundsText, startAtText] = process.argv.slice(2);
const rounds = Number(roundsText);
const marker = join(outDir, 'holder');
let acquired = 0;
let refused = 0;
let violations = 0;
while (Date.now() < Number(startAtText)) await yieldNow();
for (let round = 0; round < rounds; round++) {
  let lock;
  for (;;) {
    try {
      lock = await acquireLock(outDir, `lock-racer ${process.pid}`);
      break;
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      refused++;
      await yieldNow();
    }
  }
  acquired++;
  let mine = false;
  try {
    closeSync(openSync(marker, 'wx'));
    mine = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    violations++;
  }
  await yieldNow();
  if (mine) await rm(marker);
  await lock.release();
}
process.stdout.write(`${JSON.stringify({ acquired, refused, violations })}\n`);
