import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { PolicySource, Prisma } from '../generated/prisma/client.js';

/** Policy sources as configured (the sync records its progress through its own repository). */
@Injectable()
export class SourcesRepository {
  constructor(private readonly prisma: PrismaService) {}

  async upsert(
    id: string,
    fields: Omit<Prisma.PolicySourceUncheckedCreateInput, 'id' | 'name'>,
  ): Promise<void> {
    await this.prisma.policySource.upsert({
      where: { id },
      create: { id, name: id, ...fields },
      update: fields,
    });
  }

  /** Sources whose URL may still carry credentials (user info before the host). */
  withUserInfo(): Promise<PolicySource[]> {
    return this.prisma.policySource.findMany({ where: { url: { contains: '@' } } });
  }

  async update(id: string, data: Prisma.PolicySourceUpdateInput): Promise<void> {
    await this.prisma.policySource.update({ where: { id }, data });
  }

  list(): Promise<PolicySource[]> {
    return this.prisma.policySource.findMany({ orderBy: { createdAt: 'asc' } });
  }

  byId(id: string): Promise<PolicySource | null> {
    return this.prisma.policySource.findUnique({ where: { id } });
  }

  /** A source whose id or name is `name` (both must be unique across sources). */
  named(name: string): Promise<PolicySource | null> {
    return this.prisma.policySource.findFirst({ where: { OR: [{ id: name }, { name }] } });
  }

  /** Rejects with Prisma's P2002 when the id is taken (the caller maps it to a conflict). */
  create(data: Prisma.PolicySourceUncheckedCreateInput): Promise<PolicySource> {
    return this.prisma.policySource.create({ data });
  }
}
