// `emoforge review OUT`: serves the review page over a finished out folder until stopped.
import { resolve } from 'node:path';
import { isS3Location, openStore } from '../../pipelines/store/index.ts';
import { startReviewServer, type ReviewServer, type ReviewServerOptions } from '../../pipelines/review/server.ts';

/** The server's options, with the out folder and store named as the command line names them. */
export interface ReviewCommandOptions extends Pick<ReviewServerOptions, 'log' | 'host' | 'port' | 'reviewer' | 'queue' | 'resolve'> {
  readonly out: string;
  /** default `.emoforge`, the run's default store */
  readonly store?: string;
  readonly write: (line: string) => void;
}

export async function reviewCommand(options: ReviewCommandOptions): Promise<ReviewServer> {
  const store = openStore(options.store ?? '.emoforge');
  let outDir = resolve(options.out);
  if (isS3Location(options.out)) {
    // An out folder in a store is reviewed from a local mirror, as `run` builds it.
    const { mirrorFolder, pullFolder } = await import('../../pipelines/publish/store-mirror.ts');
    const outStore = openStore(options.out);
    outDir = mirrorFolder('out', outStore.location);
    await pullFolder(outStore, outDir);
  }
  const serverOptions: ReviewServerOptions = {
    outDir,
    store,
    log: options.log,
    host: options.host,
    port: options.port,
    reviewer: options.reviewer,
    queue: options.queue,
    resolve: options.resolve,
  };
  const server = await startReviewServer(serverOptions);
  const corpus = server.set.samples.filter((s) => s.inCorpus).length;
  const dropped = server.set.samples.length - corpus;
  options.write(
    `emoforge review ${server.set.corpus}: ${corpus} samples${dropped ? ` (+${dropped} rejected ones)` : ''}, review log ${server.log.name} in ${store.location}, ${server.log.decisions().length} decisions so far\n`,
  );
  if (server.set.missingSnapshots)
    options.write(`  ${server.set.missingSnapshots} published segments have no review snapshot in this store: run the pipeline again with it to review them\n`);
  options.write(`review page: ${server.url}\n`);
  if (server.token) options.write('  (bound beyond loopback: the address carries the access token; anyone who has it can record decisions under any name)\n');
  options.write('decisions are stored as they are made; `emoforge run` applies them. ^C stops the server.\n');
  return server;
}
