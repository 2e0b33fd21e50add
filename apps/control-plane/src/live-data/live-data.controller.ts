import { Controller, Delete, Get, Param, Patch, Put, Query, Req } from '@nestjs/common';
import {
  liveDataHistoryQuerySchema,
  type LiveDataHistoryQuery,
  type LiveDataHistoryResponse,
  type LiveDataListResponse,
  type LiveDataWriteResponse,
  type LiveDocumentResponse,
} from '@stepgate/protocol';
import type { Request } from 'express';
import { CurrentPrincipal } from '../common/current-principal.decorator.js';
import { actorOf, RequireScopes, type Principal } from '../common/scopes.js';
import { StepUpProtected } from '../common/step-up-protected.decorator.js';
import type { StepUpResource } from '../common/step-up-protection.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import type { LiveDataOp } from './live-data.repository.js';
import { LiveDataService } from './live-data.service.js';
import { bodyOf, reasonOf } from './write-request.js';

/** `data/<name>` of the document in the path (the self-protection resource of writes). */
const pathDocument: StepUpResource = (request) => `data/${String(request.params.name ?? '')}`;

const READERS = ['viewer', 'operator', 'data'] as const;
const WRITERS = ['data', 'operator'] as const;

@Controller('v1/data')
export class LiveDataController {
  constructor(private readonly liveData: LiveDataService) {}

  @Get()
  @RequireScopes(...READERS)
  list(): Promise<LiveDataListResponse> {
    return this.liveData.list();
  }

  @Get(':name')
  @RequireScopes(...READERS)
  get(@Param('name') name: string): Promise<LiveDocumentResponse> {
    return this.liveData.get(name);
  }

  @Get(':name/history')
  @RequireScopes(...READERS)
  history(
    @Param('name') name: string,
    @Query(new ZodValidationPipe(liveDataHistoryQuerySchema, 'query')) query: LiveDataHistoryQuery,
  ): Promise<LiveDataHistoryResponse> {
    return this.liveData.history(name, query);
  }

  @Put(':name')
  @RequireScopes(...WRITERS)
  @StepUpProtected('stepgate:data:write', pathDocument)
  put(
    @Param('name') name: string,
    @Req() request: Request,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LiveDataWriteResponse> {
    return this.write(request, principal, name, 'put');
  }

  @Patch(':name')
  @RequireScopes(...WRITERS)
  @StepUpProtected('stepgate:data:write', pathDocument)
  patch(
    @Param('name') name: string,
    @Req() request: Request,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LiveDataWriteResponse> {
    return this.write(request, principal, name, 'patch');
  }

  @Delete(':name')
  @RequireScopes(...WRITERS)
  @StepUpProtected('stepgate:data:write', pathDocument)
  reset(
    @Param('name') name: string,
    @Req() request: Request,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LiveDataWriteResponse> {
    return this.write(request, principal, name, 'delete');
  }

  @Put(':name/:key')
  @RequireScopes(...WRITERS)
  @StepUpProtected('stepgate:data:write', pathDocument)
  putKey(
    @Param('name') name: string,
    @Param('key') key: string,
    @Req() request: Request,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LiveDataWriteResponse> {
    return this.write(request, principal, name, 'put', key);
  }

  @Delete(':name/:key')
  @RequireScopes(...WRITERS)
  @StepUpProtected('stepgate:data:write', pathDocument)
  deleteKey(
    @Param('name') name: string,
    @Param('key') key: string,
    @Req() request: Request,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LiveDataWriteResponse> {
    return this.write(request, principal, name, 'delete', key);
  }

  private write(
    request: Request,
    principal: Principal,
    name: string,
    op: LiveDataOp,
    key?: string,
  ): Promise<LiveDataWriteResponse> {
    const reason = reasonOf(request);
    const body = op === 'delete' ? undefined : bodyOf(request, op);
    return this.liveData.write({ name, op, key, body, reason, actor: actorOf(principal) });
  }
}
