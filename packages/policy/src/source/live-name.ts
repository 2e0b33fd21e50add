/**
 * A live data document's or a signal's name: what conditions write after `data.`/`signals.`.
 * Alone in its module so that reading a bundle (bundle/policy-set.ts, in the agent) does not
 * build every source-document schema of ./schemas.ts at start-up.
 */
export const LIVE_NAME = /^(?!(?:constructor|prototype)$)[a-z][a-z0-9_]{0,62}$/;
