import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '../common/authenticated-request.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { pinRollbackTarget } from '../live-state/rollback-pin.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { SelfProtectionService } from './self-protection.service.js';
import { STEP_UP_PROTECTED, type StepUpProtection } from '../common/step-up-protection.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Applies @StepUpProtected: decides the admin action before the handler runs. */
@Injectable()
export class StepUpGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly protection: SelfProtectionService,
    private readonly versions: VersionsRepository,
    private readonly liveState: LiveStateRepository,
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
      previousVersionNumber: () => this.previousVersionNumber(request),
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
    const named = UUID.test(text)
      ? { id: text.toLowerCase() }
      : /^[0-9a-f]{7,40}$/i.test(text)
        ? { shaPrefix: text.toLowerCase() }
        : undefined;
    if (!named) return text;
    const numbers = await this.versions.numbers(named, 2);
    return numbers.length === 1 ? String(numbers[0]) : text;
  }

  /**
   * The number of the version a plain rollback goes back to, from the same definition the
   * rollback uses (LiveStateRepository.rollbackTarget); the target is pinned on the request so
   * the handler rolls back to exactly the version authorised here, even if an activation
   * happened in between.
   */
  private async previousVersionNumber(request: object): Promise<string> {
    const target = await this.liveState.rollbackTarget();
    if (!target) return 'previous';
    pinRollbackTarget(request, target);
    const [number] = await this.versions.numbers({ id: target }, 1);
    return number === undefined ? 'previous' : String(number);
  }
}
