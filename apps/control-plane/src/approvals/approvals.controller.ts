import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  approvalDecisionRequestSchema,
  approvalsQuerySchema,
  createApprovalRequestSchema,
  type ApprovalsQuery,
  type ApprovalsResponse,
  type ApprovalView,
  type CreateApprovalRequest,
} from '@stepgate/protocol';
import type { z } from 'zod';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { AcceptsIdTokens, RequireScopes, type Principal } from '../common/scopes.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { ApprovalsService } from './approvals.service.js';

type DecisionBody = z.infer<typeof approvalDecisionRequestSchema>;

/**
 * Approve and deny are open to every human scope on purpose: the service refuses callers
 * without the approver scope itself, so that refusal lands in the audit trail too.
 */
@Controller('v1/approvals')
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalsService) {}

  @Post()
  @RequireScopes('viewer', 'operator', 'approver')
  // A CI job asks for approvals for itself with its ID token (the GitHub Action, `stepgate exec
  // --request`); listing, approving and denying need a person's token.
  @AcceptsIdTokens()
  create(
    @Body(new ZodValidationPipe(createApprovalRequestSchema)) body: CreateApprovalRequest,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalView> {
    return this.approvals.create(principal, body);
  }

  @Get()
  @RequireScopes('viewer', 'operator', 'approver')
  async list(
    @Query(new ZodValidationPipe(approvalsQuerySchema, 'query')) query: ApprovalsQuery,
  ): Promise<ApprovalsResponse> {
    return { approvals: await this.approvals.list(query) };
  }

  @Get(':id')
  @RequireScopes('viewer', 'operator', 'approver')
  get(@Param('id') id: string): Promise<ApprovalView> {
    return this.approvals.get(id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @RequireScopes('viewer', 'operator', 'approver')
  approve(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(approvalDecisionRequestSchema)) body: DecisionBody,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalView> {
    return this.approvals.decide(id, principal, 'approve', body.comment);
  }

  @Post(':id/deny')
  @HttpCode(200)
  @RequireScopes('viewer', 'operator', 'approver')
  deny(
    @Param('id') id: string,
    @Body(new ZodValidationPipe(approvalDecisionRequestSchema)) body: DecisionBody,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ApprovalView> {
    return this.approvals.decide(id, principal, 'deny', body.comment);
  }
}
