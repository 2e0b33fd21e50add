/**
 * Everything that can be wrong with a policy repository is reported as a CompileError with
 * a stable code and a location, never thrown: a compile returns all of them at once.
 */
export type CompileErrorCode =
  | 'yaml/syntax'
  | 'yaml/cycle'
  | 'file/kind'
  | 'schema/invalid'
  | 'settings/missing'
  | 'settings/duplicate'
  | 'policy/duplicate'
  | 'rule/duplicate'
  | 'rule/invalid'
  | 'level/unknown'
  | 'glob/invalid'
  | 'cel/syntax'
  | 'cel/type'
  | 'cel/not_boolean'
  | 'cel/cost'
  | 'data/invalid'
  | 'data/duplicate'
  /** A `liveData:` declaration of stepgate.yaml: its schema file, default or name. */
  | 'live/invalid'
  /** A `signals:` declaration of stepgate.yaml. */
  | 'signal/invalid'
  /** A `dataSources:` entry of stepgate.yaml: its document, URL, interval, headers or limits. */
  | 'data_source/invalid'
  /** The `console:` block of stepgate.yaml (web console sign-in). */
  | 'console/invalid'
  | 'entity/invalid'
  | 'entity/duplicate'
  | 'test/invalid'
  | 'test/unknown_rule'
  /** The tests of a commit went over the time or memory limit of the control plane's worker. */
  | 'test/limit';

export interface CompileError {
  code: CompileErrorCode;
  message: string;
  /** Repository-relative path of the file at fault. */
  file: string;
  /** 1-based position in the file, when known. */
  line?: number;
  column?: number;
  policy?: string;
  rule?: string;
  /** For CEL errors: the 0-based offset inside the expression. */
  offset?: number;
}

/** `kubernetes/kubectl.yaml:12:14 kubectl/exec-in-prod: message` */
export function formatCompileError(error: CompileError): string {
  let where = error.file;
  if (error.line !== undefined) where += `:${error.line}`;
  if (error.line !== undefined && error.column !== undefined) where += `:${error.column}`;
  const owner = error.policy ? ` ${error.policy}${error.rule ? `/${error.rule}` : ''}:` : '';
  return `${where}${owner} ${error.message}`;
}

/** Thrown only by APIs that cannot return a result object (loading a shipped policy set). */
export class PolicySetError extends Error {
  constructor(
    readonly code: 'policy_set/invalid' | 'policy_set/format',
    message: string,
  ) {
    super(message);
    this.name = 'PolicySetError';
  }
}
