// Types for what tests import from eslint.config.js (the import-direction zones).
export declare const zones: ReadonlyArray<{ target: string; from: string; message: string }>;
declare const config: unknown;
export default config;
