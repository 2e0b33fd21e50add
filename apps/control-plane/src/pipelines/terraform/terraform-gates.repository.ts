import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../database/prisma.service.js';

/** Reads the pipeline gates of Terraform runs (the pipeline gates module writes them). */
@Injectable()
export class TerraformGatesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Terraform gates still waiting at `now`, oldest first. */
  waiting(now: Date, limit: number) {
    return this.prisma.pipelineGate.findMany({
      where: { kind: 'terraform', status: 'pending', expiresAt: { gt: now } },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
  }
}
