// The export formats and the tasks each carries.
export const FORMATS = ['affectgpt', 'emer', 'llamafactory', 'llava', 'jsonl'] as const;
export type ExportFormat = (typeof FORMATS)[number];
