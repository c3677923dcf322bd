// Types of scripts/compiled.mjs (plain JavaScript so that scripts/emoforge.mjs can use it before tsx loads).
export declare const BUILD_DIR: string;
export declare const SOURCE_DIRS: readonly string[];
export declare const SOURCE_FILES: readonly string[];
export declare const STAMP_FILE: string;
export declare function sourceStamp(root: string): Record<string, string>;
export declare function compiledIsCurrent(root: string): boolean;
