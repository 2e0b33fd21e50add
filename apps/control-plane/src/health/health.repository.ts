import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** The database as the readiness probe sees it. */
@Injectable()
export class HealthRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** A round trip to PostgreSQL. */
  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }
}
