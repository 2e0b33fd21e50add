import { Injectable, type PipeTransform } from '@nestjs/common';
import { StepgateError } from '@stepgate/protocol';
import type { z } from 'zod';

/**
 * Validates a body or query against a zod schema from @stepgate/protocol. Schemas are
 * strict, so unknown fields are 400s, with every problem listed in `details`.
 */
@Injectable()
export class ZodValidationPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(
    private readonly schema: T,
    private readonly what = 'request body',
  ) {}

  transform(value: unknown): z.infer<T> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const details = result.error.issues.map((issue) => ({
      path: issue.path.join('.'),
      message: issue.message,
    }));
    const first = details[0];
    throw new StepgateError(
      'request/invalid',
      `invalid ${this.what}: ${first?.path ? `${first.path}: ` : ''}${first?.message ?? 'bad shape'}`,
      details,
    );
  }
}
