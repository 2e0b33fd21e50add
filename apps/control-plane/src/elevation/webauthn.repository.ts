import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma, WebAuthnChallenge, WebAuthnCredential } from '../generated/prisma/client.js';

/** WebAuthn credentials and the challenges of ceremonies in progress. */
@Injectable()
export class WebAuthnRepository {
  constructor(private readonly prisma: PrismaService) {}

  credentialsOf(subject: string): Promise<WebAuthnCredential[]> {
    return this.prisma.webAuthnCredential.findMany({ where: { subject } });
  }

  countCredentials(subject: string): Promise<number> {
    return this.prisma.webAuthnCredential.count({ where: { subject } });
  }

  credential(id: string): Promise<WebAuthnCredential | null> {
    return this.prisma.webAuthnCredential.findUnique({ where: { id } });
  }

  /** Rejects with Prisma's P2002 when the credential id is registered already. */
  createCredential(data: Prisma.WebAuthnCredentialUncheckedCreateInput) {
    return this.prisma.webAuthnCredential.create({ data });
  }

  /** Moves the signature counter on from `stored`; false when a concurrent assertion did. */
  async advanceCounter(id: string, stored: bigint, counter: bigint): Promise<boolean> {
    const { count } = await this.prisma.webAuthnCredential.updateMany({
      where: { id, counter: stored },
      data: { counter, lastUsedAt: new Date() },
    });
    return count > 0;
  }

  /** Deletes every credential of the subject; returns how many. */
  async deleteCredentials(subject: string): Promise<number> {
    const { count } = await this.prisma.webAuthnCredential.deleteMany({ where: { subject } });
    return count;
  }

  async deleteExpiredChallenges(now: Date): Promise<void> {
    await this.prisma.webAuthnChallenge.deleteMany({ where: { expiresAt: { lt: now } } });
  }

  async createChallenge(data: Prisma.WebAuthnChallengeUncheckedCreateInput): Promise<void> {
    await this.prisma.webAuthnChallenge.create({ data });
  }

  challenge(challenge: string): Promise<WebAuthnChallenge | null> {
    return this.prisma.webAuthnChallenge.findUnique({ where: { challenge } });
  }

  /** Deletes the challenge if it is this subject's for this purpose; false otherwise. */
  async deleteChallenge(
    challenge: string,
    subject: string,
    purpose: WebAuthnChallenge['purpose'],
  ): Promise<boolean> {
    const { count } = await this.prisma.webAuthnChallenge.deleteMany({
      where: { challenge, subject, purpose },
    });
    return count > 0;
  }
}
