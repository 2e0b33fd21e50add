import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  activateRequestSchema,
  listQuerySchema,
  rollbackRequestSchema,
  shadowRequestSchema,
  type ActivateRequest,
  type ActivationResponse,
  type ListQuery,
  type RollbackRequest,
  type ShadowOffResponse,
  type ShadowResponse,
  type VersionDetail,
  type VersionDiffQuery,
  type VersionDiffResponse,
  type VersionsResponse,
  versionDiffQuerySchema,
} from '@stepgate/protocol';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { pinnedRollbackTarget } from '../live-state/rollback-pin.js';
import { StepUpProtected } from '../common/step-up-protected.decorator.js';
import type { StepUpResource } from '../common/step-up-protection.js';
import { ActivationService, type ChangeResult } from './activation.service.js';
import { VersionDiffService } from './version-diff.service.js';
import { VersionsService } from './versions.service.js';

/** `versions/<number>` of the version named in the path. */
const pathVersion: StepUpResource = async (request, { versionNumber }) =>
  `versions/${await versionNumber(String(request.params.ref ?? ''))}`;

/** `versions/<number>` of the rollback target: `to`, else the previously active version. */
const rollbackTarget: StepUpResource = async (request, helpers) => {
  const to = (request.body as { to?: unknown } | undefined)?.to;
  const ref = typeof to === 'string' || typeof to === 'number' ? String(to) : undefined;
  return `versions/${ref ? await helpers.versionNumber(ref) : await helpers.previousVersionNumber()}`;
};

@Controller('v1')
export class VersionsController {
  constructor(
    private readonly versions: VersionsService,
    private readonly activation: ActivationService,
    private readonly diffs: VersionDiffService,
  ) {}

  @Get('versions')
  @RequireScopes('viewer', 'operator')
  async list(
    @Query(new ZodValidationPipe(listQuerySchema, 'query')) query: ListQuery,
  ): Promise<VersionsResponse> {
    return { versions: await this.versions.list(query.limit, query.status) };
  }

  @Get('versions/:ref')
  @RequireScopes('viewer', 'operator')
  detail(@Param('ref') ref: string): Promise<VersionDetail> {
    return this.versions.detail(ref);
  }

  @Get('versions/:ref/diff')
  @RequireScopes('viewer', 'operator')
  diff(
    @Param('ref') ref: string,
    @Query(new ZodValidationPipe(versionDiffQuerySchema, 'query')) query: VersionDiffQuery,
  ): Promise<VersionDiffResponse> {
    return this.diffs.diff(ref, query.against);
  }

  @Post('versions/:ref/activate')
  @HttpCode(200)
  @RequireScopes('operator')
  @StepUpProtected('stepgate:activate', pathVersion)
  async activate(
    @Param('ref') ref: string,
    @Body(new ZodValidationPipe(activateRequestSchema)) body: ActivateRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ActivationResponse> {
    return this.activeResponse(
      await this.activation.activate(ref, actorOf(principal), body.reason),
    );
  }

  @Post('rollback')
  @HttpCode(200)
  @RequireScopes('operator')
  @StepUpProtected('stepgate:rollback', rollbackTarget)
  async rollback(
    @Body(new ZodValidationPipe(rollbackRequestSchema)) body: RollbackRequest,
    @CurrentPrincipal() principal: Principal,
    @Req() request: object,
  ): Promise<ActivationResponse> {
    // A plain rollback goes to the version the step-up guard authorised (see rollback-pin.ts).
    const to = body.to ?? pinnedRollbackTarget(request);
    return this.activeResponse(await this.activation.rollback(actorOf(principal), body.reason, to));
  }

  @Post('versions/:ref/shadow')
  @HttpCode(200)
  @RequireScopes('operator')
  @StepUpProtected('stepgate:shadow', pathVersion)
  async shadow(
    @Param('ref') ref: string,
    @Body(new ZodValidationPipe(shadowRequestSchema)) body: ActivateRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ShadowResponse> {
    const result = await this.activation.setShadow(ref, actorOf(principal), body.reason);
    return {
      revision: result.revision,
      shadowVersion: await this.versions
        .detail(result.toVersionId as string)
        .then(({ errors: _e, testReport: _t, ...v }) => v),
    };
  }

  @Delete('shadow')
  @RequireScopes('operator')
  @StepUpProtected('stepgate:shadow', () => 'versions/shadow')
  async clearShadow(
    @Body(new ZodValidationPipe(shadowRequestSchema)) body: ActivateRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ShadowOffResponse> {
    const result = await this.activation.clearShadow(actorOf(principal), body.reason);
    return { revision: result.revision, shadowVersion: null };
  }

  private async activeResponse(result: ChangeResult): Promise<ActivationResponse> {
    const live = await this.versions.liveState();
    const load = async (id: string) => this.versions.view(await this.versions.resolve(id), live);
    return {
      revision: result.revision,
      // An activation or a rollback always has a target; only `from` may be missing.
      activeVersion: await load(result.toVersionId as string),
      from: result.fromVersionId ? await load(result.fromVersionId) : null,
    };
  }
}
