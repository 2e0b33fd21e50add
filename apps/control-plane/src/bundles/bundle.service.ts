import { Injectable } from '@nestjs/common';
import { signBundle, StepgateError, type BundlePayload } from '@stepgate/protocol';
import { PrismaService } from '../database/prisma.service.js';
import { issuersOf, IssuerKeysService } from '../issuer-keys/issuer-keys.service.js';
import { LiveStateEvents } from './live-state.events.js';
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
    private readonly prisma: PrismaService,
    private readonly keys: SigningKeyService,
    private readonly issuerKeys: IssuerKeysService,
    events: LiveStateEvents,
  ) {
    events.onChange(() => this.cache.clear());
  }

  async current(kind: 'active' | 'shadow'): Promise<SignedBundle> {
    const state = await this.prisma.activeState.findUnique({ where: { id: 1 } });
    const versionId = kind === 'active' ? state?.activeVersionId : state?.shadowVersionId;
    if (!state || !versionId)
      throw new StepgateError(
        'bundle/not_found',
        kind === 'active' ? 'no version is active yet' : 'no shadow version is set',
      );
    const cacheKey = `${kind}:${state.revision}:${versionId}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;

    const version = await this.prisma.policyVersion.findUniqueOrThrow({ where: { id: versionId } });
    if (version.status !== 'ready' || !version.policySet || !version.bundleHash) {
      throw new StepgateError('version/not_ready', `version ${version.number} has no bundle`);
    }
    // An issuer-keys refresh re-activates the same version; it says nothing about rollback.
    const recent = await this.prisma.activation.findMany({
      where: { kind: { in: ['activate', 'rollback'] } },
      orderBy: { revision: 'desc' },
      take: 50,
    });
    const last = recent.find((row) => row.fromVersionId !== row.toVersionId);
    const issuers = issuersOf(version.policySet);
    const payload: BundlePayload = {
      format: 'stepgate.bundle/v1',
      kind,
      revision: state.revision,
      version: {
        id: version.id,
        number: version.number,
        sha: version.sha,
        branch: version.branch,
        committedAt: version.committedAt.toISOString(),
      },
      rollback: kind === 'active' && last?.kind === 'rollback',
      issuedAt: new Date().toISOString(),
      bundleHash: version.bundleHash,
      policySet: version.policySet,
    };
    if (issuers.length > 0) payload.issuerKeys = await this.issuerKeys.keysFor(issuers);
    const key = this.keys.current();
    const bundle: SignedBundle = {
      kind,
      revision: state.revision,
      versionId: version.id,
      versionNumber: version.number,
      jws: await signBundle(payload, { kid: key.kid, privateKey: key.privateKey }),
    };
    this.cache.set(cacheKey, bundle);
    return bundle;
  }
}
