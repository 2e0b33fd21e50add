import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { SigningKey } from '../generated/prisma/client.js';

/** The bundle-signing public keys ever used (published so agents can verify and rotate). */
@Injectable()
export class SigningKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a public key if it is new; `active` also makes a known one the active key. */
  async upsert(kid: string, publicJwk: object, status: 'active' | 'retired'): Promise<void> {
    await this.prisma.signingKey.upsert({
      where: { kid },
      create: { kid, algorithm: 'EdDSA', publicJwk, status },
      update: status === 'active' ? { status } : {},
    });
  }

  /** Every active key but `kid` becomes retired (still published). */
  async retireAllBut(kid: string): Promise<void> {
    await this.prisma.signingKey.updateMany({
      where: { kid: { not: kid }, status: 'active' },
      data: { status: 'retired' },
    });
  }

  /** Oldest first. */
  all(): Promise<SigningKey[]> {
    return this.prisma.signingKey.findMany({ orderBy: { createdAt: 'asc' } });
  }

  byKid(kid: string): Promise<SigningKey | null> {
    return this.prisma.signingKey.findUnique({ where: { kid } });
  }

  /** Stores the endorsement of `kid` unless one is stored; false when one was. */
  async endorse(kid: string, endorsement: string, endorsedBy: string): Promise<boolean> {
    const written = await this.prisma.signingKey.updateMany({
      where: { kid, endorsement: null },
      data: { endorsement, endorsedBy },
    });
    return written.count > 0;
  }

  /** Keys other than `kid` created before `before`. */
  countOlder(kid: string, before: Date): Promise<number> {
    return this.prisma.signingKey.count({
      where: { kid: { not: kid }, createdAt: { lt: before } },
    });
  }
}
