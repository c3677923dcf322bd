// Writes report.html and the dataset card README.md into an out folder (each atomically).
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/store.ts';
import { renderCard } from './card.ts';
import { buildDigest, thumbnailKeys, type AuditInput } from './digest.ts';
import { renderReport } from './report.ts';
import { loadThumbnails } from './thumbnails.ts';

export const REPORT_FILE = 'report.html';
export const CARD_FILE = 'README.md';

export async function writeAuditFiles(outDir: string, store: Store, input: AuditInput): Promise<{ report: string; card: string }> {
  const digest = buildDigest(input);
  const thumbnails = await loadThumbnails(store, thumbnailKeys(digest));
  await atomicWrite(join(outDir, REPORT_FILE), renderReport(digest, thumbnails));
  await atomicWrite(join(outDir, CARD_FILE), renderCard(digest));
  return { report: REPORT_FILE, card: CARD_FILE };
}

async function atomicWrite(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}
