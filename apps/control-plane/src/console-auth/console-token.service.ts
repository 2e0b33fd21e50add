import { Injectable } from '@nestjs/common';
import type { ConsoleOidcSettings } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Principal } from '../common/scopes.js';
import { JwksFetchError } from '../issuer-keys/jwks-fetch.js';
import { ActiveConsoleSettingsService } from './active-console-settings.service.js';
import { ConsoleProviderService } from './console-provider.service.js';
import { consoleIdentity, quoteUntrusted } from './console-principal.js';

/** Asymmetric JWS algorithms only: never `none`, never an HMAC (a shared secret). */
export const CONSOLE_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** The longest JWT considered: ID tokens are a few KiB; anything past this is not one. */
const MAX_JWT_LENGTH = 16 * 1024;

/** Three base64url segments: a JWS in compact form (Stepgate API tokens have no dots). */
export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_JWT_LENGTH && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
}

const unauthenticated = (why: string) =>
  new StepgateError('auth/unauthenticated', `console sign-in refused: ${why}`);

/**
 * The admin API's second way in: an ID token (or a JWT access token whose `aud` holds the
 * client id) of the console's OIDC issuer, verified against the issuer's published keys, mapped
 * to a principal by `console.oidc` of the active version. Nothing is stored: every request
 * carries its token, which expires when the provider says.
 */
@Injectable()
export class ConsoleTokenService {
  constructor(
    private readonly settings: ActiveConsoleSettingsService,
    private readonly provider: ConsoleProviderService,
  ) {}

  /**
   * The principal of a console JWT, or undefined when the active version declares no console
   * issuer (the caller then treats the bearer as an API token).
   * @throws StepgateError `auth/unauthenticated` (401) for any token that does not verify,
   *   `auth/forbidden` (403) for one whose roles map to no scope, `service/unavailable` (503)
   *   while the issuer's keys cannot be fetched.
   */
  async authenticate(token: string): Promise<Principal | undefined> {
    const settings = await this.settings.oidc();
    if (!settings) return undefined;
    const payload = await this.verify(token, settings);
    const { subject, scopes } = consoleIdentity(payload, settings);
    return { tokenId: `oidc:${subject}`, name: subject, subject, scopes, authMethod: 'oidc' };
  }

  private async verify(token: string, settings: ConsoleOidcSettings): Promise<JWTPayload> {
    let alg: unknown;
    let iss: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      throw unauthenticated('the bearer token is not a well-formed JWT');
    }
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none' || /^HS\d+$/i.test(alg))
      throw unauthenticated(
        `alg ${quoteUntrusted(String(alg))} is refused (unsigned and shared-secret tokens never are accepted)`,
      );
    if (!CONSOLE_ALGORITHMS.includes(alg))
      throw unauthenticated(`alg ${quoteUntrusted(alg)} is not an accepted signature algorithm`);
    if (iss !== settings.issuer)
      throw unauthenticated(
        `the token's issuer ${typeof iss === 'string' ? quoteUntrusted(iss) : '(none)'} is not the console issuer ${JSON.stringify(settings.issuer)}`,
      );
    let payload: JWTPayload;
    try {
      payload = await this.check(token, settings, await this.keys(settings));
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw rejection(error);
      // A kid the held keys lack: the provider may have rotated; fetch again once.
      try {
        payload = await this.check(token, settings, await this.keys(settings, true));
      } catch (retried) {
        throw rejection(retried);
      }
    }
    // OIDC Core 3.1.3.7: with several audiences, azp names the client the token was issued to.
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== undefined)
      if (payload.azp !== settings.clientId)
        throw unauthenticated('the token was issued to another client (azp)');
    return payload;
  }

  private check(token: string, settings: ConsoleOidcSettings, keys: JWTVerifyGetKey) {
    return jwtVerify(token, keys, {
      issuer: settings.issuer,
      audience: settings.clientId,
      algorithms: CONSOLE_ALGORITHMS,
      clockTolerance: settings.clockSkew,
      requiredClaims: ['exp', 'iat'],
    }).then((verified) => verified.payload);
  }

  private async keys(settings: ConsoleOidcSettings, unknownKid = false): Promise<JWTVerifyGetKey> {
    try {
      return await this.provider.keys(settings.issuer, { unknownKid });
    } catch (error) {
      if (!(error instanceof JwksFetchError)) throw error;
      throw new StepgateError(
        'service/unavailable',
        `console sign-in cannot be checked now: the keys of ${settings.issuer} cannot be fetched (${error.message}); sign in with an API token meanwhile`,
      );
    }
  }
}

/** A jose failure as a 401 whose message names the problem, never the token or key material. */
function rejection(error: unknown): StepgateError {
  if (error instanceof StepgateError) return error;
  if (error instanceof errors.JWTExpired) return unauthenticated('the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return unauthenticated('the token is not meant for the console client (aud)');
      case 'nbf':
        return unauthenticated('the token is not valid yet (nbf)');
      case 'iss':
        return unauthenticated('the token issuer does not match');
      case 'exp':
        return unauthenticated('the token has no exp claim');
      case 'iat':
        return unauthenticated('the token iat claim is missing or in the future');
      default:
        return unauthenticated(`the token claim ${quoteUntrusted(error.claim)} is invalid`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return unauthenticated('the token algorithm is not accepted');
  if (error instanceof errors.JWKSNoMatchingKey)
    return unauthenticated('the token was signed by a key the issuer does not publish (kid)');
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return unauthenticated('the token signature does not verify');
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid)
    return unauthenticated('the bearer token is not a well-formed JWT');
  return unauthenticated('the token cannot be verified');
}
