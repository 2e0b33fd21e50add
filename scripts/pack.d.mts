/** Types of scripts/pack.mjs for the TypeScript suites. */

/** Workspace folder of each published package, by package name, dependencies first. */
export declare const PUBLISHED: Readonly<Record<string, string>>;
