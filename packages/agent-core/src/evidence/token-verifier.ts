import { IssuerTokenVerifier, type TrustedIssuers, type VerifiedToken } from '@stepgate/policy';
import type { LoadedBundle } from '../bundle-store.js';
import { systemClock, type Clock } from '../ports.js';

// The verification itself lives in @stepgate/policy, shared with the control plane's /v1/check.
export { TokenVerificationError } from '@stepgate/policy';
export type { TokenRejection, VerifiedToken } from '@stepgate/policy';

/** Where the verifier finds the active bundle (its issuers and their keys). */
export interface IssuerSource {
  readonly active: LoadedBundle | undefined;
}

export interface TokenVerifierOptions {
  store: IssuerSource;
  clock?: Clock;
}

/**
 * Verifies bearer JWTs offline against the issuers of the active bundle: each issuer's keys
 * are its inline `jwks`, else the bundle's `issuerKeys[issuer]` (fetched and signed by the
 * control plane). Key sets are prepared once per bundle and dropped with it.
 */
export class TokenVerifier {
  private readonly store: IssuerSource;
  private readonly verifier: IssuerTokenVerifier;
  private readonly trusts = new WeakMap<LoadedBundle, TrustedIssuers>();

  constructor(options: TokenVerifierOptions) {
    this.store = options.store;
    const clock = options.clock ?? systemClock;
    this.verifier = new IssuerTokenVerifier({
      now: () => clock.now(),
      noKeysMessage:
        'the agent holds no keys for the token issuer yet (the control plane has not delivered its JWKS)',
    });
  }

  /** Whether the active bundle trusts any issuer (else every bearer token is refused). */
  get hasIssuers(): boolean {
    return (this.store.active?.issuers.length ?? 0) > 0;
  }

  /** @throws TokenVerificationError with a reason and a message safe to show the caller. */
  verify(token: string): Promise<VerifiedToken> {
    return this.verifier.verify(token, this.trustOf(this.store.active));
  }

  private trustOf(bundle: LoadedBundle | undefined): TrustedIssuers | undefined {
    if (bundle === undefined) return undefined;
    let trust = this.trusts.get(bundle);
    if (trust === undefined) {
      trust = { issuers: bundle.issuers, issuerKeys: bundle.payload.issuerKeys };
      this.trusts.set(bundle, trust);
    }
    return trust;
  }
}

// One reading of claim paths for agents and the control plane's console sign-in.
export { claimAt } from '@stepgate/policy';
