import { compile } from '../compile/compile.js';
import type { CompileError } from '../errors.js';
import { PolicyEngine } from '../evaluate/engine.js';
import type { CompiledPolicySet } from '../model.js';

export const SETTINGS = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
onError: deny
levels:
  - name: pwd
    acr: ["urn:stepgate:pwd"]
  - name: mfa
    acr: ["urn:stepgate:mfa"]
    amr: ["otp", "mfa"]
  - name: phishing_resistant
    acr: ["urn:stepgate:phr"]
    amr: ["hwk"]
`;

/** Compiles inline files (stepgate.yaml defaults to SETTINGS) and fails loudly on errors. */
export function compileOk(files: Record<string, string>): CompiledPolicySet {
  const result = compile(
    Object.entries({ 'stepgate.yaml': SETTINGS, ...files }).map(([path, content]) => ({
      path,
      content,
    })),
  );
  if (!result.ok)
    throw new Error(
      `expected the fixture to compile:\n${result.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`).join('\n')}`,
    );
  return result.policySet;
}

export function compileErrors(files: Record<string, string>): CompileError[] {
  const result = compile(
    Object.entries({ 'stepgate.yaml': SETTINGS, ...files }).map(([path, content]) => ({
      path,
      content,
    })),
  );
  if (result.ok) throw new Error('expected compile errors, but the fixture compiled');
  return result.errors;
}

export function engineFor(files: Record<string, string>): PolicyEngine {
  return new PolicyEngine(compileOk(files));
}

/** A policy file from a name, an optional target block and rules written as YAML. */
export function policy(name: string, rules: string, target = ''): string {
  return `apiVersion: stepgate/v1\nkind: Policy\nname: ${name}\n${target}rules:\n${rules}`;
}

export const NOW = new Date('2026-11-23T10:00:00Z'); // a Monday
export const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
