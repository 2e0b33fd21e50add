import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { claimAt, claimStrings as stringList } from '../claims.js';
import { attributeName } from '../compile/compile-settings.js';
import type { AuthEvidence, DecisionRequest, IssuerSettings } from '../model.js';
import { pipelineAttributes } from './pipeline-claims.js';

/** Why a bearer token was refused. */
export type TokenRejection =
  | 'malformed'
  | 'no_bundle'
  | 'unknown_issuer'
  | 'no_keys'
  | 'algorithm'
  | 'signature'
  | 'audience'
  | 'expired'
  | 'not_yet_valid'
  | 'auth_time'
  | 'principal'
  | 'claims';

/**
 * A bearer token was refused. `message` is safe to send back to the caller (RFC 6750
 * `error_description`): it names the problem, never key material or the token itself.
 */
export class TokenVerificationError extends Error {
  override name = 'TokenVerificationError';
  readonly code = 'token/invalid';
  constructor(
    readonly reason: TokenRejection,
    message: string,
  ) {
    super(message);
  }
}

/** A token whose signature, issuer, audience and times all checked out. */
export interface VerifiedToken {
  principal: DecisionRequest['principal'];
  /** `acr`, `amr` and `authTime` (from `auth_time` only); the level follows from the bundle's levels. */
  evidence: AuthEvidence;
  issuer: IssuerSettings;
}

/**
 * The issuers a policy set trusts (`issuers:` in stepgate.yaml) and the keys fetched for them
 * (`issuerKeys`, by issuer, as the signed bundle carries them). Key sets are prepared once per
 * object: pass the same object for as long as the issuers and keys stay the same.
 */
export interface TrustedIssuers {
  readonly issuers: readonly IssuerSettings[];
  readonly issuerKeys?: Readonly<Record<string, { keys: readonly Record<string, unknown>[] }>>;
}

export interface IssuerTokenVerifierOptions {
  /** Epoch milliseconds now (tests pin it). */
  now?: () => number;
  /** What a token of a trusted issuer whose keys are not held yet is told. */
  noKeysMessage?: string;
}

interface PreparedIssuer {
  settings: IssuerSettings;
  keys: JWTVerifyGetKey | undefined;
}

/**
 * Verifies bearer JWTs offline against trusted issuers: each issuer's keys are its inline
 * `jwks`, else `issuerKeys[issuer]`. One implementation for agents (bearer tokens on their
 * decision APIs) and the control plane (CI jobs' OIDC tokens on `/v1/check`), so both accept
 * and refuse the same tokens and map claims to the same principal.
 */
export class IssuerTokenVerifier {
  private readonly now: () => number;
  private readonly noKeysMessage: string;
  private readonly prepared = new WeakMap<TrustedIssuers, Map<string, PreparedIssuer>>();

  constructor(options: IssuerTokenVerifierOptions = {}) {
    this.now = options.now ?? Date.now;
    this.noKeysMessage =
      options.noKeysMessage ?? 'the keys of the token issuer are not available yet';
  }

  /** Whether `token` names an issuer of `trust` (unverified: for routing only). */
  claimsIssuerOf(token: string, trust: TrustedIssuers | undefined): boolean {
    if (trust === undefined) return false;
    try {
      const iss = decodeJwt(token).iss;
      return typeof iss === 'string' && this.issuers(trust).has(iss);
    } catch {
      return false;
    }
  }

  /** @throws TokenVerificationError with a reason and a message safe to show the caller. */
  async verify(token: string, trust: TrustedIssuers | undefined): Promise<VerifiedToken> {
    let header: Record<string, unknown>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token) as Record<string, unknown>;
      unverified = decodeJwt(token);
    } catch {
      throw new TokenVerificationError('malformed', 'the token is not a well-formed JWT');
    }
    if (trust === undefined)
      throw new TokenVerificationError(
        'no_bundle',
        'no policy bundle is loaded, so no issuer is trusted yet',
      );
    const iss = unverified.iss;
    if (typeof iss !== 'string' || iss === '')
      throw new TokenVerificationError('unknown_issuer', 'the token has no iss claim');
    const issuer = this.issuers(trust).get(iss);
    if (issuer === undefined)
      throw new TokenVerificationError(
        'unknown_issuer',
        `the token's issuer ${quoteUntrusted(iss)} is not trusted`,
      );
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none')
      throw new TokenVerificationError('algorithm', 'unsigned tokens (alg none) are refused');
    if (/^HS\d+$/i.test(alg))
      throw new TokenVerificationError(
        'algorithm',
        `shared-secret (HMAC) tokens are refused (alg ${quoteUntrusted(alg)})`,
      );
    if (!issuer.settings.algorithms.includes(alg))
      throw new TokenVerificationError(
        'algorithm',
        `alg ${quoteUntrusted(alg)} is not accepted for this issuer (accepted: ${issuer.settings.algorithms.join(', ')})`,
      );
    if (issuer.keys === undefined) throw new TokenVerificationError('no_keys', this.noKeysMessage);

    const nowMs = this.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.keys, {
        issuer: issuer.settings.issuer,
        audience: issuer.settings.audience,
        algorithms: issuer.settings.algorithms,
        clockTolerance: issuer.settings.clockSkew,
        requiredClaims: ['exp'],
        currentDate: new Date(nowMs),
      }));
    } catch (error) {
      throw rejection(error);
    }
    return result(payload, issuer.settings, nowMs);
  }

  private issuers(trust: TrustedIssuers): Map<string, PreparedIssuer> {
    let prepared = this.prepared.get(trust);
    if (prepared !== undefined) return prepared;
    prepared = new Map();
    for (const settings of trust.issuers) {
      const jwks = settings.jwks ?? trust.issuerKeys?.[settings.issuer];
      let keys: JWTVerifyGetKey | undefined;
      if (jwks !== undefined && jwks.keys.length > 0) {
        try {
          keys = createLocalJWKSet(jwks as unknown as JSONWebKeySet);
        } catch {
          keys = undefined;
        }
      }
      prepared.set(settings.issuer, { settings, keys });
    }
    this.prepared.set(trust, prepared);
    return prepared;
  }
}

function result(payload: JWTPayload, settings: IssuerSettings, nowMs: number): VerifiedToken {
  const id = claimAt(payload, settings.claims.principal);
  if (typeof id !== 'string' || id === '')
    throw new TokenVerificationError(
      'principal',
      `the token has no ${settings.claims.principal} claim for the principal id`,
    );
  const principal: DecisionRequest['principal'] = { id };
  if (settings.claims.roles !== undefined)
    principal.roles = stringList(claimAt(payload, settings.claims.roles));
  if (settings.claims.groups !== undefined)
    principal.groups = stringList(claimAt(payload, settings.claims.groups));
  if (settings.claims.attributes.length > 0 || settings.claims.shape !== undefined) {
    // A CI job's token: its pipeline attributes first; claims configured by name add to them.
    const attributes: Record<string, unknown> =
      settings.claims.shape === undefined ? {} : pipelineAttributes(settings.claims.shape, payload);
    for (const path of settings.claims.attributes) {
      const value = claimAt(payload, path);
      if (value !== undefined) attributes[attributeName(path)] = value;
    }
    principal.attributes = attributes;
  }

  const evidence: AuthEvidence = {};
  if (typeof payload.acr === 'string') evidence.acr = payload.acr;
  if (payload.amr !== undefined) evidence.amr = stringList(payload.amr);
  const authTime = payload.auth_time;
  if (authTime !== undefined) {
    if (typeof authTime !== 'number' || !Number.isFinite(authTime))
      throw new TokenVerificationError('claims', 'auth_time must be a number of seconds');
    if (authTime * 1000 > nowMs + settings.clockSkew * 1000)
      throw new TokenVerificationError('auth_time', 'auth_time is in the future');
    evidence.authTime = new Date(authTime * 1000);
  }
  return { principal, evidence, issuer: settings };
}

/** Untrusted text for a message: printable ASCII, short, quoted. */
function quoteUntrusted(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 77)}...` : clean);
}

function rejection(error: unknown): TokenVerificationError {
  if (error instanceof errors.JWTExpired)
    return new TokenVerificationError('expired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return new TokenVerificationError(
          'audience',
          'the token is not meant for this audience (aud)',
        );
      case 'nbf':
        return new TokenVerificationError('not_yet_valid', 'the token is not valid yet (nbf)');
      case 'iss':
        return new TokenVerificationError('unknown_issuer', 'the token issuer does not match');
      case 'exp':
        return new TokenVerificationError('expired', 'the token has no valid exp claim');
      case 'iat':
        return new TokenVerificationError('claims', 'the token iat claim is invalid');
      default:
        return new TokenVerificationError('claims', `the token claim ${error.claim} is invalid`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenVerificationError('algorithm', 'the token algorithm is not accepted');
  if (error instanceof errors.JWKSNoMatchingKey)
    return new TokenVerificationError(
      'signature',
      'the token was signed by a key the issuer does not publish (unknown kid)',
    );
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new TokenVerificationError('signature', 'the token signature does not verify');
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid)
    return new TokenVerificationError('malformed', 'the token is not a well-formed JWT');
  return new TokenVerificationError('signature', 'the token cannot be verified');
}
