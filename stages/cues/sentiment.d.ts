// Types for the `sentiment` package (AFINN-165 word scores, MIT), which ships none.
declare module 'sentiment' {
  interface AnalysisResult {
    /** Sum of the AFINN scores of the scored words (-5..5 each, sign flipped after a negator). */
    score: number;
    /** score divided by the number of tokens */
    comparative: number;
    calculation: Array<Record<string, number>>;
    tokens: string[];
    words: string[];
    positive: string[];
    negative: string[];
  }
  interface AnalysisOptions {
    language?: string;
    /** Never pass extras: sentiment 5.0.2 merges them into its shared label table for every later call. */
    extras?: Record<string, number>;
  }
  class Sentiment {
    constructor(options?: Record<string, unknown>);
    analyze(phrase: string, options?: AnalysisOptions): AnalysisResult;
  }
  export = Sentiment;
}
