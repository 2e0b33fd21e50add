import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { StepgateError, type CreateSourceRequest } from '@stepgate/protocol';
import { AuditService } from '../audit/audit.service.js';
import { urlHostProblem } from '../common/outbound-guard.js';
import { SecretBox } from '../common/secret-box.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import type { PolicySource } from '../generated/prisma/client.js';
import { shownUrl, splitCredentials } from '../common/source-url.js';
import { SourcesRepository } from './sources.repository.js';

type SourceRow = PolicySource;

export const DEFAULT_SOURCE_ID = 'default';

/**
 * Policy sources: the default one (the embedded repository, or the remote given by
 * STEPGATE_SOURCE_URL) is created at start-up; more can be added through the API.
 * Credentials and webhook secrets are encrypted at rest and never returned; credentials
 * written into a URL (`https://user:token@host/repo.git`) are moved there too, so no URL that
 * is stored, shown or audited carries them.
 */
@Injectable()
export class SourcesService implements OnModuleInit {
  constructor(
    private readonly repository: SourcesRepository,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const remote = this.config.remoteSource;
    const credentials =
      remote?.username || remote?.password
        ? this.box.seal(
            JSON.stringify({ username: remote.username ?? '', password: remote.password ?? '' }),
          )
        : null;
    const webhookSecretEncrypted = this.config.webhookSecret
      ? this.box.seal(this.config.webhookSecret)
      : null;
    const fields = remote
      ? {
          kind: 'remote' as const,
          url: remote.url,
          branch: remote.branch,
          path: remote.path,
          credentialsEncrypted: credentials,
          webhookSecretEncrypted,
        }
      : {
          kind: 'embedded' as const,
          url: null,
          branch: 'main',
          path: '.',
          credentialsEncrypted: null,
          webhookSecretEncrypted,
        };
    await this.repository.upsert(DEFAULT_SOURCE_ID, fields);
    await this.moveCredentialsOutOfUrls();
  }

  /**
   * Sources stored before credentials were taken out of URLs: each URL with user info keeps
   * only the address, its credentials move to the encrypted field (unless the source already
   * has credentials there, which win, as they did for fetching).
   */
  private async moveCredentialsOutOfUrls(): Promise<void> {
    const rows = await this.repository.withUserInfo();
    for (const row of rows) {
      const { url, credentials } = splitCredentials(row.url as string);
      if (credentials === undefined) continue;
      await this.repository.update(row.id, {
        url,
        ...(row.credentialsEncrypted === null
          ? { credentialsEncrypted: this.box.seal(JSON.stringify(credentials)) }
          : {}),
      });
      await this.audit.record({
        actor: 'system:startup',
        action: 'source.credentials_moved',
        target: row.id,
        details: {
          url,
          credentials:
            row.credentialsEncrypted === null
              ? 'moved from the URL to the encrypted credentials'
              : 'the encrypted credentials kept; the URL ones dropped',
        },
      });
    }
  }

  async list() {
    const rows = await this.repository.list();
    return rows.map((row) => this.view(row));
  }

  async get(id: string): Promise<SourceRow> {
    const row = await this.repository.byId(id);
    if (!row) throw new StepgateError('source/not_found', `no policy source "${id}"`);
    return row;
  }

  async create(input: CreateSourceRequest, actor: string) {
    const refused = urlHostProblem(input.url, this.config.outbound);
    if (refused !== undefined)
      throw new StepgateError('request/invalid', `invalid request body: url: ${refused}`, [
        { path: 'url', message: refused },
      ]);
    const { url, credentials: inUrl } = splitCredentials(input.url);
    if (inUrl !== undefined && (input.username !== undefined || input.password !== undefined))
      throw new StepgateError(
        'request/invalid',
        'invalid request body: url: the URL carries credentials and username/password are given too; give them once (username and password are stored encrypted either way)',
        [{ path: 'url', message: 'credentials given twice' }],
      );
    const credentials =
      inUrl ??
      (input.username || input.password
        ? { username: input.username ?? '', password: input.password ?? '' }
        : undefined);
    const existing = await this.repository.named(input.name);
    const conflict = () =>
      new StepgateError('version/conflict', `a source named "${input.name}" already exists`);
    if (existing) throw conflict();
    const row = await this.repository
      .create({
        id: input.name,
        name: input.name,
        kind: 'remote' as const,
        url,
        branch: input.branch,
        path: input.path,
        autoActivate: input.autoActivate,
        pollIntervalSeconds: input.pollIntervalSeconds ?? null,
        credentialsEncrypted: credentials ? this.box.seal(JSON.stringify(credentials)) : null,
        webhookSecretEncrypted: input.webhookSecret ? this.box.seal(input.webhookSecret) : null,
      })
      .catch((error: unknown) => {
        // Two concurrent creations of one name both pass the check above; the key decides.
        throw (error as { code?: unknown }).code === 'P2002' ? conflict() : error;
      });
    await this.audit.record({
      actor,
      action: 'source.create',
      target: row.id,
      details: { url: shownUrl(row.url), branch: row.branch, path: row.path },
    });
    return this.view(row);
  }

  credentialsOf(source: SourceRow): { username: string; password: string } | undefined {
    return source.credentialsEncrypted
      ? (JSON.parse(this.box.open(source.credentialsEncrypted)) as {
          username: string;
          password: string;
        })
      : undefined;
  }

  webhookSecretOf(source: SourceRow): string | undefined {
    return source.webhookSecretEncrypted ? this.box.open(source.webhookSecretEncrypted) : undefined;
  }

  view(row: SourceRow) {
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      url: shownUrl(row.url),
      branch: row.branch,
      path: row.path,
      autoActivate: row.autoActivate,
      pollIntervalSeconds: row.pollIntervalSeconds ?? this.config.pollIntervalSeconds,
      hasCredentials: row.credentialsEncrypted !== null,
      hasWebhookSecret: row.webhookSecretEncrypted !== null,
      lastSyncedSha: row.lastSyncedSha,
      lastSyncAt: row.lastSyncAt?.toISOString() ?? null,
      lastSyncError: row.lastSyncError,
    };
  }
}
