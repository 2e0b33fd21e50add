import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import type { AuditService } from '../audit/audit.service.js';
import type { Principal } from '../common/scopes.js';
import type {
  AppliedChange,
  LiveStateChangeRequest,
  LiveStateRepository,
} from '../live-state/live-state.repository.js';
import type { LiveStateService } from '../live-state/live-state.service.js';
import type { SelfProtectionService } from '../step-up/self-protection.service.js';
import { StepUpGuard } from '../step-up/step-up.guard.js';
import { ActivationService } from './activation.service.js';
import { VersionsController } from './versions.controller.js';
import type { VersionsRepository } from './versions.repository.js';
import type { VersionsService } from './versions.service.js';

const NUMBERS: Record<string, number> = { v1: 1, v2: 2, v3: 3 };

/**
 * A plain rollback runs the step-up guard (which decides `stepgate:rollback` on the version it
 * would go back to), then the handler. Both must mean the same version: here an activation
 * lands between the two and moves what "the previous version" is.
 */
function setUp() {
  const state = { active: 'v3', previous: 'v2' };
  const changes: LiveStateChangeRequest[] = [];
  const authorised: string[] = [];
  const liveStateRepository = {
    current: async () => ({
      revision: 7,
      activeVersionId: state.active,
      shadowVersionId: null,
      updatedAt: new Date(),
    }),
    rollbackTarget: async () => state.previous,
  } as unknown as LiveStateRepository;
  const liveState = {
    change: async (request: LiveStateChangeRequest): Promise<AppliedChange> => {
      changes.push(request);
      return {
        kind: request.kind,
        revision: 8,
        fromVersionId: state.active,
        toVersionId: request.toVersionId,
        changed: true,
        rollback: true,
      };
    },
  } as unknown as LiveStateService;
  const versions = {
    resolve: async (ref: string) => ({ id: ref, number: NUMBERS[ref], status: 'ready' }),
    liveState: () => liveStateRepository.current(),
    view: (row: { id: string }) => ({ id: row.id }),
  } as unknown as VersionsService;
  const versionsRepository = {
    numbers: async (ref: { id?: string }) => (ref.id ? [NUMBERS[ref.id]] : []),
  } as unknown as VersionsRepository;
  const protection = {
    enforce: async (_principal: Principal, _action: string, resource: string) => {
      authorised.push(resource);
      // The activation that lands between the guard and the handler.
      state.active = 'v1';
      state.previous = 'v3';
    },
  } as unknown as SelfProtectionService;
  const audit = { record: async () => undefined } as unknown as AuditService;
  const activation = new ActivationService(liveState, liveStateRepository, versions, audit);
  const controller = new VersionsController(versions, activation);
  const guard = new StepUpGuard(
    new Reflector(),
    protection,
    versionsRepository,
    liveStateRepository,
  );
  return { controller, guard, changes, authorised };
}

describe('plain rollback: the step-up guard and the activation choose the same version', () => {
  it('rolls back to the version the guard authorised, even after an activation in between', async () => {
    const { controller, guard, changes, authorised } = setUp();
    const principal = { kind: 'token', scopes: ['operator'], name: 'ops' } as unknown as Principal;
    const request = { principal, body: { reason: 'bad release' }, params: {} };
    const context = {
      getHandler: () => VersionsController.prototype.rollback,
      getClass: () => VersionsController,
      switchToHttp: () => ({ getRequest: () => request }),
    } as unknown as ExecutionContext;

    expect(await guard.canActivate(context)).toBe(true);
    await controller.rollback({ reason: 'bad release' }, principal, request);

    expect(authorised).toEqual(['versions/2']);
    expect(changes.map((change) => [change.kind, change.toVersionId])).toEqual([
      ['rollback', 'v2'],
    ]);
  });
});
