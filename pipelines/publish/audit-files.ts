// Writes report.html and the dataset card README.md into an out folder (each atomically).
import { join } from 'node:path';
import { renderCard } from '../audit/card.ts';
import { buildDigest, thumbnailKeys, type AuditInput } from '../audit/digest.ts';
import { renderReport } from '../audit/report.ts';
import { loadThumbnails } from '../audit/thumbnails.ts';
import type { Store } from '../store/store.ts';
import { writeFileAtomic } from './atomic-write.ts';

const REPORT_FILE = 'report.html';
const CARD_FILE = 'README.md';

export async function writeAuditFiles(outDir: string, store: Store, input: AuditInput): Promise<{ report: string; card: string }> {
  const digest = buildDigest(input);
  const thumbnails = await loadThumbnails(store, thumbnailKeys(digest));
  await writeFileAtomic(join(outDir, REPORT_FILE), renderReport(digest, thumbnails));
  await writeFileAtomic(join(outDir, CARD_FILE), renderCard(digest));
  return { report: REPORT_FILE, card: CARD_FILE };
}
