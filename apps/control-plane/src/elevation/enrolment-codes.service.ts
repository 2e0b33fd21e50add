import { Injectable } from '@nestjs/common';
import {
  StepgateError,
  type CreatedEnrolmentCode,
  type CreateEnrolmentCodeRequest,
  type EnrolmentCodesQuery,
  type EnrolmentCodeView,
} from '@stepgate/protocol';
import { createHash, randomBytes } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import type { EnrolmentCode } from '../generated/prisma/client.js';
import { EnrolmentCodesRepository } from './enrolment-codes.repository.js';

/** How long a code stays usable unless the admin says otherwise (like Teleport's invites). */
export const DEFAULT_ENROLMENT_CODE_TTL_SECONDS = 24 * 3600;
/** Recognisable in a chat message or a log scanner; 192 random bits, so nothing to guess. */
const CODE_PREFIX = 'sgenrol_';

type CodeRow = EnrolmentCode;

export type Factor = 'totp' | 'webauthn';

/**
 * One-time enrolment codes: an admin issues one for a subject (shown once, only its SHA-256
 * kept), and that subject's first factor is enrolled with it. Looked up by hash (the code has
 * 192 bits of entropy, so the lookup leaks nothing useful), used once by a conditional update,
 * refused after expiry. A refusal never says why (unknown, someone else's, used, expired) to the
 * caller, only to the audit log.
 */
@Injectable()
export class EnrolmentCodesService {
  constructor(
    private readonly repository: EnrolmentCodesRepository,
    private readonly audit: AuditService,
  ) {}

  async create(input: CreateEnrolmentCodeRequest, actor: string): Promise<CreatedEnrolmentCode> {
    const code = `${CODE_PREFIX}${randomBytes(24).toString('base64url')}`;
    const ttl = input.ttlSeconds ?? DEFAULT_ENROLMENT_CODE_TTL_SECONDS;
    const row = await this.repository.create({
      subject: input.subject,
      codeHash: hashOf(code),
      createdBy: actor,
      expiresAt: new Date(Date.now() + ttl * 1000),
    });
    await this.audit.record({
      actor,
      action: 'enrolment_code.create',
      target: row.subject,
      details: { id: row.id, expiresAt: row.expiresAt.toISOString() },
    });
    return { ...view(row), code };
  }

  async list(query: EnrolmentCodesQuery): Promise<EnrolmentCodeView[]> {
    const rows = await this.repository.list({
      ...(query.subject ? { subject: query.subject } : {}),
      all: Boolean(query.all),
      now: new Date(),
      limit: query.limit,
    });
    return rows.map(view);
  }

  /** Revokes an unused code (sent to the wrong person, no longer wanted). */
  async revoke(id: string, actor: string): Promise<void> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.repository.byId(id) : null;
    if (!row)
      throw new StepgateError('elevation/enrolment_code_not_found', `no enrolment code ${id}`);
    await this.repository.delete(id);
    await this.audit.record({
      actor,
      action: 'enrolment_code.revoke',
      target: row.subject,
      details: { id, used: row.usedAt !== null },
    });
  }

  /**
   * The usable code `code` of `subject`, without using it (a WebAuthn ceremony uses it only when
   * the registration completes); throws `elevation/enrolment_code_invalid` otherwise.
   */
  async check(code: string, subject: string, actor: string, factor: Factor): Promise<string> {
    const row = await this.repository.byHash(hashOf(code));
    const why = problemOf(row, subject, new Date());
    if (why || !row) return this.refuse(actor, subject, factor, why ?? 'unknown code');
    return row.id;
  }

  /**
   * Uses the code (by the code itself, or by the id `check` returned) for `subject`'s first
   * factor; returns its id. The update is conditional on it being unused and unexpired, so of
   * two requests racing with one code exactly one wins.
   */
  async use(
    ref: { code: string } | { id: string },
    subject: string,
    actor: string,
    factor: Factor,
  ): Promise<string> {
    const row =
      'code' in ref
        ? await this.repository.byHash(hashOf(ref.code))
        : await this.repository.byId(ref.id);
    const now = new Date();
    const why = problemOf(row, subject, now);
    if (why || !row) return this.refuse(actor, subject, factor, why ?? 'unknown code');
    if (!(await this.repository.use(row.id, now)))
      return this.refuse(actor, subject, factor, 'code used');
    await this.audit.record({
      actor,
      action: 'enrolment_code.use',
      target: subject,
      details: { id: row.id, factor },
    });
    return row.id;
  }

  private async refuse(
    actor: string,
    subject: string,
    factor: Factor,
    why: string,
  ): Promise<never> {
    await this.audit.record({
      actor,
      action: 'elevation.enrol.refused',
      target: subject,
      details: { factor, why },
    });
    throw new StepgateError(
      'elevation/enrolment_code_invalid',
      `this enrolment code is unknown, used, expired or issued for someone else; ask an admin for a new one (\`stepgate enrolment-codes create ${subject}\`)`,
    );
  }
}

function hashOf(code: string): string {
  return createHash('sha256').update(code.trim()).digest('hex');
}

function problemOf(row: CodeRow | null, subject: string, now: Date): string | undefined {
  if (!row) return 'unknown code';
  if (row.subject !== subject) return 'code of another subject';
  if (row.usedAt) return 'code used';
  if (row.expiresAt <= now) return 'code expired';
  return undefined;
}

function view(row: CodeRow): EnrolmentCodeView {
  return {
    id: row.id,
    subject: row.subject,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    usedAt: row.usedAt?.toISOString() ?? null,
  };
}
