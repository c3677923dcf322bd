// `emoforge export OUT --format affectgpt|llava|jsonl`: an out folder as the files a trainer reads.
import { exportCorpus, formatExportSummary, type ExportOptions, type ExportReport } from '../../pipelines/export/index.ts';

export async function exportCommand(options: ExportOptions): Promise<{ report: ExportReport; text: string }> {
  const report = await exportCorpus(options);
  return { report, text: formatExportSummary(report) };
}
