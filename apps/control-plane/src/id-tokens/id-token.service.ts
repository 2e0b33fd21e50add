import { Injectable } from '@nestjs/common';
import {
  IssuerTokenVerifier,
  TokenVerificationError,
  type IssuerSettings,
  type Settings,
  type TrustedIssuers,
} from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import type { Principal } from '../common/scopes.js';
import { IssuerKeysService } from '../issuer-keys/issuer-keys.service.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { VersionsRepository } from '../versions/versions.repository.js';

/**
 * Verifies OIDC tokens (a GitHub Actions job's `ACTIONS_ID_TOKEN_REQUEST_*` token, a GitLab
 * job's `id_tokens`, an IdP's token) against the issuers of the ACTIVE version, with the keys
 * the control plane fetches for its bundles, through the verifier agents use
 * (IssuerTokenVerifier): same algorithms, audience, expiry and claim mapping, so a token an agent
 * refuses is refused here too. Nothing is stored: every request carries its token.
 */
@Injectable()
export class IdTokenService {
  private readonly verifier = new IssuerTokenVerifier({
    noKeysMessage:
      'the control plane holds no keys for the token issuer (its JWKS could not be fetched; see GET /v1/issuers)',
  });
  private declared?: { versionId: string; issuers: Promise<IssuerSettings[]> };
  /** The same object while the issuers and keys stay the same: the verifier's key cache. */
  private trust?: { key: string; value: TrustedIssuers };

  constructor(
    private readonly liveState: LiveStateRepository,
    private readonly versions: VersionsRepository,
    private readonly issuerKeys: IssuerKeysService,
  ) {}

  /** Whether `token` names (unverified) an issuer of the active version: then it is an ID token. */
  async isIdToken(token: string): Promise<boolean> {
    return this.verifier.claimsIssuerOf(token, await this.trusted());
  }

  /**
   * The principal of a verified ID token: its mapped id as subject, no scopes, the claims'
   * roles, groups and attributes (e.g. a GitHub job's repository, environment, ref, actor).
   * @throws StepgateError `auth/unauthenticated` naming why the token was refused.
   */
  async authenticate(token: string): Promise<Principal> {
    try {
      const verified = await this.verifier.verify(token, await this.trusted());
      const { id, roles, groups, attributes } = verified.principal;
      return {
        tokenId: `id-token:${verified.issuer.issuer}`,
        name: id,
        subject: id,
        scopes: [],
        authMethod: 'id-token',
        identity: {
          issuer: verified.issuer.issuer,
          ...(roles ? { roles } : {}),
          ...(groups ? { groups } : {}),
          ...(attributes ? { attributes } : {}),
        },
      };
    } catch (error) {
      if (error instanceof TokenVerificationError)
        throw new StepgateError('auth/unauthenticated', `ID token refused: ${error.message}`);
      throw error;
    }
  }

  private async trusted(): Promise<TrustedIssuers | undefined> {
    const { activeVersionId } = await this.liveState.current();
    if (!activeVersionId) return undefined;
    if (this.declared?.versionId !== activeVersionId) {
      const issuers = this.load(activeVersionId);
      this.declared = { versionId: activeVersionId, issuers };
      issuers.catch(() => {
        if (this.declared?.issuers === issuers) this.declared = undefined;
      });
    }
    const issuers = await this.declared.issuers;
    const issuerKeys = issuers.length === 0 ? {} : await this.issuerKeys.keysFor(issuers);
    const key = `${activeVersionId}:${JSON.stringify(issuerKeys)}`;
    if (this.trust?.key !== key) this.trust = { key, value: { issuers, issuerKeys } };
    return this.trust.value;
  }

  private async load(versionId: string): Promise<IssuerSettings[]> {
    const version = await this.versions.get(versionId);
    const settings = (version.policySet as { settings?: Settings } | null)?.settings;
    return settings?.issuers ?? [];
  }
}
