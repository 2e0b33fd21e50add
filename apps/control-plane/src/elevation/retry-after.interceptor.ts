import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import type { Response } from 'express';
import { catchError, throwError, type Observable } from 'rxjs';

/**
 * A throttled elevation answers 429 with `Retry-After` (RFC 9110) as well as the time in the
 * body, so clients and proxies that only read headers wait the right amount.
 */
@Injectable()
export class RetryAfterInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof StepgateError && error.code === 'elevation/throttled') {
          const seconds = (error.details as { retryAfterSeconds?: unknown } | undefined)
            ?.retryAfterSeconds;
          if (typeof seconds === 'number') {
            context
              .switchToHttp()
              .getResponse<Response>()
              .setHeader('Retry-After', String(seconds));
          }
        }
        return throwError(() => error);
      }),
    );
  }
}
