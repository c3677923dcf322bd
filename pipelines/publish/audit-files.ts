// Writes report.html and the dataset card README.md into an out folder (each atomically).
import { join } from 'node:path';
import { renderCard } from '../audit/card.ts';
import { thumbnailKeys, type AuditRun, type DigestBuilder } from '../audit/digest.ts';
import { renderReport } from '../audit/report.ts';
import { loadThumbnails } from '../audit/thumbnails.ts';
import type { Store } from '../store/store.ts';
import { writeFileAtomic } from './atomic-write.ts';

const REPORT_FILE = 'report.html';
const CARD_FILE = 'README.md';

export async function writeAuditFiles(outDir: string, store: Store, builder: DigestBuilder, run: AuditRun): Promise<{ report: string; card: string }> {
  const digest = builder.digest(run);
  const thumbnails = await loadThumbnails(store, thumbnailKeys(digest));
  await writeFileAtomic(join(outDir, REPORT_FILE), renderReport(digest, thumbnails));
  await writeFileAtomic(join(outDir, CARD_FILE), renderCard(digest));
  return { report: REPORT_FILE, card: CARD_FILE };
}
