import { z } from 'zod';
import { PolicySetError } from '../errors.js';
import { LIVE_NAME } from '../source/live-name.js';
import {
  CLAIM_SHAPES,
  CONSOLE_SCOPES,
  DATA_SOURCE_FORMATS,
  POLICY_SET_FORMAT,
  SIGNAL_AGGREGATES,
  type CompiledPolicySet,
} from '../model.js';

const requirement = z.strictObject({
  level: z.string().optional(),
  maxAge: z.number().nonnegative().optional(),
  approvals: z.int().min(0).optional(),
});

const entity = z.strictObject({
  type: z.string(),
  id: z.string(),
  properties: z.record(z.string(), z.unknown()).optional(),
});

const liveName = z.string().regex(LIVE_NAME);

/** The shipped form of a policy set; checked again on load because it crossed a wire or a disk. */
export const compiledPolicySetSchema = z.strictObject({
  format: z.literal(POLICY_SET_FORMAT),
  settings: z.strictObject({
    defaultEffect: z.enum(['allow', 'deny']),
    onError: z.enum(['deny', 'ignore']),
    levels: z.array(
      z.strictObject({ name: z.string(), acr: z.array(z.string()), amr: z.array(z.string()) }),
    ),
    issuers: z
      .array(
        z.strictObject({
          issuer: z.string(),
          audience: z.array(z.string()),
          jwksUrl: z.string().optional(),
          jwks: z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
          algorithms: z.array(z.string()),
          clockSkew: z.number().nonnegative(),
          claims: z.strictObject({
            principal: z.string(),
            roles: z.string().optional(),
            groups: z.string().optional(),
            attributes: z.array(z.string()),
            shape: z.enum(CLAIM_SHAPES).optional(),
          }),
          challenge: z.enum(['rfc9470', 'insufficient_claims']),
        }),
      )
      // Bundles built before issuers existed have none.
      .default([]),
    mask: z.array(z.string()),
    // Names as the compiler allows them: they become property names of `data` and `signals`.
    liveData: z
      .record(
        liveName,
        z.strictObject({ schema: z.record(z.string(), z.unknown()), default: z.unknown() }),
      )
      .optional(),
    signals: z
      .record(
        liveName,
        z.strictObject({
          event: z.string(),
          window: z.int().positive(),
          aggregate: z.enum(SIGNAL_AGGREGATES),
          field: z.string().optional(),
        }),
      )
      .optional(),
    dataSources: z
      .array(
        z.strictObject({
          name: liveName,
          url: z.string(),
          every: z.number().positive(),
          format: z.enum(DATA_SOURCE_FORMATS),
          headers: z.record(z.string(), z.string()).optional(),
          maxBytes: z.int().positive(),
          timeout: z.number().positive(),
        }),
      )
      .optional(),
    console: z
      .strictObject({
        oidc: z
          .strictObject({
            issuer: z.string(),
            clientId: z.string(),
            scopes: z.array(z.string()),
            subjectClaim: z.string(),
            rolesClaim: z.string(),
            roles: z.record(z.string(), z.array(z.enum(CONSOLE_SCOPES))),
            clockSkew: z.number().nonnegative(),
          })
          .optional(),
      })
      .optional(),
    activation: z
      .strictObject({
        maxChanged: z.union([
          z.strictObject({ percent: z.number().min(0).max(100) }),
          z.strictObject({ count: z.int().nonnegative() }),
        ]),
      })
      .optional(),
  }),
  policies: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string().optional(),
      file: z.string(),
      agents: z.record(z.string(), z.string()).optional(),
      target: z.strictObject({
        actions: z.array(z.string()).optional(),
        resources: z.array(z.string()).optional(),
      }),
      rules: z.array(
        z.strictObject({
          name: z.string(),
          effect: z.enum(['allow', 'deny', 'step_up']),
          mode: z.enum(['enforce', 'audit']),
          when: z.string().optional(),
          require: requirement.optional(),
          message: z.string().optional(),
        }),
      ),
    }),
  ),
  data: z.record(z.string(), z.unknown()),
  entities: z
    .strictObject({
      subjects: z.array(entity),
      resources: z.array(entity),
      actions: z.array(z.string()),
    })
    .optional(),
});

/** Reloads a serialised policy set without the YAML it came from. Throws PolicySetError. */
export function parsePolicySet(input: string | unknown): CompiledPolicySet {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new PolicySetError(
        'policy_set/format',
        `policy set is not JSON: ${(error as Error).message}`,
      );
    }
  }
  const result = compiledPolicySetSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PolicySetError(
      'policy_set/invalid',
      `policy set is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown problem'}`,
    );
  }
  return result.data as CompiledPolicySet;
}
