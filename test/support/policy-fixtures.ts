import { readFileSync } from 'node:fs';

/**
 * The bundle settings most suites compile against (deny by default and on error; levels pwd,
 * mfa, phishing_resistant). One YAML file, which the benchmarks read too; a suite that needs
 * issuers or a mask appends them.
 */
export const SETTINGS = readFileSync(new URL('./fixtures/settings.yaml', import.meta.url), 'utf8');

/** The example repository's own settings (policies/stepgate.yaml), for suites that extend them. */
export const EXAMPLE_SETTINGS = readFileSync(
  new URL('../../policies/stepgate.yaml', import.meta.url),
  'utf8',
);

/**
 * The live data and signals the example settings declare (from `liveData:` to the end), for
 * suites that compile the example policies with other settings: its policies read them.
 */
export const EXAMPLE_LIVE_DECLARATIONS = EXAMPLE_SETTINGS.slice(
  EXAMPLE_SETTINGS.search(/^liveData:/m),
);
