// The audit surface of an out folder: the digest behind report.html and the dataset card README.md
// (written by pipelines/publish/audit-files.ts), and SQL over the run.
export { buildDigest, DigestBuilder, thumbnailKeys, GALLERY_SIZE, REJECTED_EXAMPLES } from './digest.ts';
export type { AuditInput, AuditDigest, AuditRun } from './digest.ts';
export { renderReport } from './report.ts';
export { renderCard, cardMetadata, hubLicense } from './card.ts';
export { readPreviousRun, diffRuns } from './previous-run.ts';
export type { PreviousRunState, RunChanges } from './previous-run.ts';
export { auditQuery, auditTables, openAuditDatabase, AuditDatabase, AuditError, AUDIT_TABLES } from './database.ts';
export type { AuditResult } from './database.ts';
export { escapeHtml, escapeMarkdown } from './html.ts';
