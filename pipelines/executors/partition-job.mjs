// BullMQ's sandboxed processor entry: it runs in a child process BullMQ forks, which knows nothing
// of TypeScript. Next to the compiled copy (.build/, see scripts/build.mjs) it imports the compiled
// processor; next to the source it registers tsx's loader first. A child whose parent worker died
// (SIGKILL) exits instead of working on as an orphan.
import { existsSync } from 'node:fs';

process.on('disconnect', () => process.exit(1));
const compiled = new URL('./partition-job.js', import.meta.url);
let processor;
if (existsSync(compiled)) processor = await import(compiled.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  processor = await import('./partition-job.ts');
}

export default processor.processPartitionJob;
