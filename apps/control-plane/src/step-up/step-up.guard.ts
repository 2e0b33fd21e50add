import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '../common/authenticated-request.js';
import { PrismaService } from '../database/prisma.service.js';
import { SelfProtectionService } from './self-protection.service.js';
import { STEP_UP_PROTECTED, type StepUpProtection } from '../common/step-up-protection.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Applies @StepUpProtected: decides the admin action before the handler runs. */
@Injectable()
export class StepUpGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly protection: SelfProtectionService,
    private readonly prisma: PrismaService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const meta = this.reflector.get<StepUpProtection | undefined>(
      STEP_UP_PROTECTED,
      context.getHandler(),
    );
    if (!meta) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    // The global AuthGuard ran first; a protected route is never public.
    if (!request.principal) return false;
    const resourceId = await meta.resource(request, {
      versionNumber: (ref) => this.versionNumber(ref),
      previousVersionNumber: () => this.previousVersionNumber(),
    });
    await this.protection.enforce(request.principal, meta.action, resourceId);
    return true;
  }

  /**
   * A version reference (number, id, sha prefix) as its number, so policies can target
   * `versions/12` whichever way the caller named it; an unknown reference stays as given
   * (the handler answers 404 for it once the caller may proceed).
   */
  private async versionNumber(ref: string): Promise<string> {
    const text = ref.trim();
    if (/^\d{1,9}$/.test(text)) return String(Number(text));
    const where = UUID.test(text)
      ? { id: text.toLowerCase() }
      : /^[0-9a-f]{7,40}$/i.test(text)
        ? { sha: { startsWith: text.toLowerCase() } }
        : undefined;
    if (!where) return text;
    const rows = await this.prisma.policyVersion.findMany({
      where,
      select: { number: true },
      take: 2,
    });
    return rows.length === 1 ? String(rows[0]!.number) : text;
  }

  /** Mirrors ActivationService.rollback's choice: the last other version that was active. */
  private async previousVersionNumber(): Promise<string> {
    const state = await this.prisma.activeState.findUnique({ where: { id: 1 } });
    const history = await this.prisma.activation.findMany({
      where: { kind: { in: ['activate', 'rollback'] } },
      orderBy: { revision: 'desc' },
      take: 200,
      select: { toVersionId: true },
    });
    const previous = history.find(
      (row) => row.toVersionId && row.toVersionId !== state?.activeVersionId,
    );
    if (!previous?.toVersionId) return 'previous';
    const version = await this.prisma.policyVersion.findUnique({
      where: { id: previous.toVersionId },
      select: { number: true },
    });
    return version ? String(version.number) : 'previous';
  }
}
