import type { Environment } from '@marcbachmann/cel-js';
import { parseDuration } from '../duration.js';
import type { CompileError } from '../errors.js';
import { globToRegExpSource } from '../glob.js';
import type { CompiledPolicy, CompiledRule, Requirement, Settings } from '../model.js';
import { ruleSchema, type PolicyDocument, type RuleDocument } from '../source/schemas.js';
import type { YamlDocument } from '../source/yaml-file.js';
import { checkCondition } from './condition.js';
import { validate } from './validate.js';

type RequireInput = NonNullable<RuleDocument['require']>;

/** Compiles one validated policy document; problems are appended to `errors`. */
export function compilePolicy(
  source: YamlDocument,
  policy: PolicyDocument,
  settings: Settings,
  env: Environment,
  errors: CompileError[],
  data: Record<string, unknown> = {},
): CompiledPolicy {
  const at = (path: (string | number)[], extra: Partial<CompileError> = {}) => ({
    file: source.file,
    policy: policy.name,
    ...source.positionOf(path),
    ...extra,
  });

  for (const field of ['actions', 'resources'] as const) {
    policy.target?.[field]?.forEach((glob, index) => {
      const result = globToRegExpSource(glob);
      if (typeof result !== 'string') {
        errors.push({
          code: 'glob/invalid',
          message: `target.${field}[${index}] "${glob}": ${result.message}`,
          ...at(['target', field, index]),
        });
      }
    });
  }

  const seen = new Set<string>();
  const rules: CompiledRule[] = [];
  policy.rules.forEach((raw, index) => {
    const path = ['rules', index];
    const rawName =
      typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined;
    const rule = validate(
      source,
      ruleSchema,
      errors,
      { policy: policy.name, ...(typeof rawName === 'string' ? { rule: rawName } : {}) },
      path,
    );
    if (!rule) return;
    const ruleAt = (sub: (string | number)[]) => at([...path, ...sub], { rule: rule.name });
    if (seen.has(rule.name)) {
      errors.push({
        code: 'rule/duplicate',
        message: `rule name "${rule.name}" is used twice in this policy; rule names must be unique within a policy`,
        ...ruleAt(['name']),
      });
    }
    seen.add(rule.name);

    if (rule.when !== undefined) {
      const check = checkCondition(env, rule.when, data);
      if (!check.ok) {
        const position =
          check.offset !== undefined
            ? source.positionInScalar([...path, 'when'], check.offset)
            : source.positionOf([...path, 'when']);
        errors.push({
          code: check.code,
          message: check.message,
          file: source.file,
          policy: policy.name,
          rule: rule.name,
          ...position,
          ...(check.offset !== undefined ? { offset: check.offset } : {}),
        });
      }
    }

    let require: Requirement | undefined;
    if (rule.effect === 'step_up') {
      if (!rule.require) {
        errors.push({
          code: 'rule/invalid',
          message: 'a step_up rule needs `require` (level, maxAge and/or approvals)',
          ...ruleAt([]),
        });
      } else {
        require = compileRequirement(rule.require, settings, (code, message, sub) =>
          errors.push({ code, message, ...ruleAt(['require', ...sub]) }),
        );
        if (require && Object.keys(require).length === 0) {
          errors.push({
            code: 'rule/invalid',
            message:
              '`require` asks for nothing; give a level, a maxAge or approvals of at least 1',
            ...ruleAt(['require']),
          });
        }
      }
    } else if (rule.require) {
      errors.push({
        code: 'rule/invalid',
        message: `\`require\` only applies to step_up rules, not ${rule.effect}`,
        ...ruleAt(['require']),
      });
    }

    const compiled: CompiledRule = {
      name: rule.name,
      effect: rule.effect,
      mode: rule.mode ?? 'enforce',
    };
    if (rule.when !== undefined) compiled.when = rule.when;
    if (require) compiled.require = require;
    if (rule.message !== undefined) compiled.message = rule.message;
    rules.push(compiled);
  });

  const target: CompiledPolicy['target'] = {};
  if (policy.target?.actions) target.actions = policy.target.actions;
  if (policy.target?.resources) target.resources = policy.target.resources;
  const compiled: CompiledPolicy = { name: policy.name, file: source.file, target, rules };
  if (policy.description !== undefined) compiled.description = policy.description;
  if (policy.agents && Object.keys(policy.agents).length > 0) compiled.agents = policy.agents;
  return compiled;
}

/** Validates a requirement against the settings' levels; `maxAge` becomes whole seconds (at least 1). */
export function compileRequirement(
  input: RequireInput,
  settings: Settings,
  report: (code: 'level/unknown' | 'rule/invalid', message: string, path: string[]) => void,
): Requirement | undefined {
  const out: Requirement = {};
  let valid = true;
  if (input.level !== undefined) {
    if (!settings.levels.some((level) => level.name === input.level)) {
      const known =
        settings.levels.map((level) => level.name).join(', ') ||
        '(none: declare levels in stepgate.yaml)';
      report(
        'level/unknown',
        `unknown level "${input.level}"; the levels in stepgate.yaml are: ${known}`,
        ['level'],
      );
      valid = false;
    } else {
      out.level = input.level;
    }
  }
  if (input.maxAge !== undefined) {
    const seconds = typeof input.maxAge === 'number' ? input.maxAge : parseDuration(input.maxAge);
    if (seconds === undefined) {
      report(
        'rule/invalid',
        `maxAge "${input.maxAge}" is not a duration (write e.g. 90s, 5m, 1h)`,
        ['maxAge'],
      );
      valid = false;
    } else {
      // An RFC 9470 challenge carries max_age in whole seconds, and 0 would ask for a login
      // that no token can ever prove fresh enough.
      const problem = !Number.isInteger(seconds)
        ? `maxAge must be whole seconds: ${JSON.stringify(input.maxAge)} is ${seconds}s (write e.g. ${Math.max(1, Math.round(seconds))}s)`
        : seconds < 1
          ? `maxAge must be at least 1s: ${JSON.stringify(input.maxAge)}`
          : undefined;
      if (problem !== undefined) {
        report('rule/invalid', problem, ['maxAge']);
        valid = false;
      } else {
        out.maxAge = seconds;
      }
    }
  }
  if (input.approvals !== undefined && input.approvals > 0) out.approvals = input.approvals;
  return valid ? out : undefined;
}
