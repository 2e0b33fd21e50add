import { Injectable } from '@nestjs/common';
import { signBundle, StepgateError, type BundlePayload } from '@stepgate/protocol';
import { LiveStateEvents, type LiveStateChange } from '../live-state/live-state.events.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { issuersOf, IssuerKeysService } from '../issuer-keys/issuer-keys.service.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { SigningKeyService } from './signing-key.service.js';

export interface SignedBundle {
  kind: 'active' | 'shadow';
  revision: number;
  versionId: string;
  versionNumber: number;
  jws: string;
}

/**
 * Builds the signed bundle of the active or shadow version for the current revision.
 * Signing is cheap but not free, so the last bundle of each kind is kept until the
 * revision moves.
 */
@Injectable()
export class BundleService {
  private readonly cache = new Map<string, SignedBundle>();

  constructor(
    private readonly versions: VersionsRepository,
    private readonly liveState: LiveStateRepository,
    private readonly keys: SigningKeyService,
    private readonly issuerKeys: IssuerKeysService,
    events: LiveStateEvents,
  ) {
    events.onChange(() => this.cache.clear());
  }

  /** The bundle of the live state as stored now (agents catching up, the bundles API). */
  async current(kind: 'active' | 'shadow'): Promise<SignedBundle> {
    const state = await this.liveState.current();
    const versionId = kind === 'active' ? state.activeVersionId : state.shadowVersionId;
    if (!versionId)
      throw new StepgateError(
        'bundle/not_found',
        kind === 'active' ? 'no version is active yet' : 'no shadow version is set',
      );
    return this.signed(kind, state.revision, versionId, () =>
      kind === 'active' ? this.liveState.activeIsRollback() : Promise.resolve(false),
    );
  }

  /** The bundle a committed change publishes, from the change itself (no read of the state). */
  forChange(change: LiveStateChange & { kind: 'activate' | 'rollback' | 'shadow_set' }) {
    const kind = change.kind === 'shadow_set' ? 'shadow' : 'active';
    if (!change.versionId)
      throw new StepgateError('bundle/not_found', `the ${change.kind} names no version`);
    return this.signed(kind, change.revision, change.versionId, () =>
      Promise.resolve(kind === 'active' && change.rollback),
    );
  }

  private async signed(
    kind: 'active' | 'shadow',
    revision: number,
    versionId: string,
    rollback: () => Promise<boolean>,
  ): Promise<SignedBundle> {
    const cacheKey = `${kind}:${revision}:${versionId}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;

    const version = await this.versions.get(versionId);
    if (version.status !== 'ready' || !version.policySet || !version.bundleHash) {
      throw new StepgateError('version/not_ready', `version ${version.number} has no bundle`);
    }
    const issuers = issuersOf(version.policySet);
    const payload: BundlePayload = {
      format: 'stepgate.bundle/v1',
      kind,
      revision,
      version: {
        id: version.id,
        number: version.number,
        sha: version.sha,
        branch: version.branch,
        committedAt: version.committedAt.toISOString(),
      },
      rollback: await rollback(),
      issuedAt: new Date().toISOString(),
      bundleHash: version.bundleHash,
      policySet: version.policySet,
    };
    if (issuers.length > 0) payload.issuerKeys = await this.issuerKeys.keysFor(issuers);
    const key = this.keys.current();
    const bundle: SignedBundle = {
      kind,
      revision,
      versionId: version.id,
      versionNumber: version.number,
      jws: await signBundle(payload, { kid: key.kid, privateKey: key.privateKey }),
    };
    this.cache.set(cacheKey, bundle);
    return bundle;
  }
}
