import { Controller, Delete, Get, Param, Patch, Put, Query, Req } from '@nestjs/common';
import {
  LIVE_DATA_REASON_HEADER,
  liveDataHistoryQuerySchema,
  liveDataReasonSchema,
  StepgateError,
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

/** The write's reason, from its header (percent-encoded UTF-8 decoded). */
export function reasonOf(request: Pick<Request, 'headers'>): string {
  const raw = request.headers[LIVE_DATA_REASON_HEADER];
  const header = Array.isArray(raw) ? raw.join(', ') : raw;
  let text = header ?? '';
  try {
    text = decodeURIComponent(text);
  } catch {
    // Not percent-encoded (a literal "%"): taken as sent.
  }
  const parsed = liveDataReasonSchema.safeParse(text);
  if (!parsed.success)
    throw new StepgateError(
      'request/invalid',
      header === undefined || text.trim() === ''
        ? `a live-data write needs a reason: send it in the X-Stepgate-Reason header (1-1000 characters, percent-encoded UTF-8 for non-ASCII text), e.g. -H 'X-Stepgate-Reason: block the scanning range from ticket 4711'`
        : 'the X-Stepgate-Reason header is longer than 1000 characters',
    );
  return parsed.data;
}

/** The JSON body of a PUT or PATCH (any JSON value, null included). */
function bodyOf(request: Request, op: LiveDataOp): unknown {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const accepted =
    op === 'patch' ? ['application/merge-patch+json', 'application/json'] : ['application/json'];
  if (!accepted.includes(type))
    throw new StepgateError(
      'request/invalid',
      `send the ${op === 'patch' ? 'merge patch (RFC 7396)' : 'new value'} as ${accepted.join(' or ')}${type === '' ? '' : `, not ${type}`}`,
      undefined,
      { status: 415 },
    );
  const body = (request as { body?: unknown }).body;
  if (body === undefined)
    throw new StepgateError(
      'request/invalid',
      `the body is missing: a ${op.toUpperCase()} carries the ${op === 'patch' ? 'merge patch' : 'new value'} as JSON`,
    );
  return body;
}
