// BullMQ's sandboxed processor entry: it runs in a child process BullMQ forks, which knows nothing
// of TypeScript, so tsx's loader is registered here before the processor is imported. A child
// whose parent worker died (SIGKILL) exits instead of working on as an orphan.
import { register } from 'tsx/esm/api';

register();
process.on('disconnect', () => process.exit(1));
const { processPartitionJob } = await import('./partition-job.ts');

export default processPartitionJob;
