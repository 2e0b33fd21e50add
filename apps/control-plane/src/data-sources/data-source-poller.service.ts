import { Inject, Injectable } from '@nestjs/common';
import { resolveHeaders, shownDataSourceUrl, type DataSourceDeclaration } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LiveDataService } from '../live-data/live-data.service.js';
import { LOGGER } from '../logging/logger.js';
import { DataSourceFetchError, fetchDataSource } from './data-source-fetcher.js';
import { DataSourceParseError, parseDataSourceBody } from './data-source-parsers.js';
import { DataSourceMetrics, type FetchOutcome } from './data-source.metrics.js';
import { DataSourceRepository } from './data-source.repository.js';

/** A failed poll: its outcome label and a message that names no header value. */
class PollFailure extends Error {
  constructor(
    readonly outcome: FetchOutcome,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One poll of one data source: fetch (with the ETag of the value last published), parse by
 * format, validate and publish through live data (a new data revision only when the value
 * changed), and record how it went. A failure keeps the last good value: nothing is written.
 */
@Injectable()
export class DataSourcePollerService {
  constructor(
    private readonly liveData: LiveDataService,
    private readonly repository: DataSourceRepository,
    private readonly metrics: DataSourceMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Polls the source feeding `name`; `removed` when the active version no longer declares one. */
  async poll(name: string): Promise<FetchOutcome | 'removed'> {
    const source = (await this.liveData.dataSources()).find((s) => s.name === name);
    if (source === undefined) return 'removed';
    const at = new Date();
    const shown = shownDataSourceUrl(source.url);
    try {
      const outcome = await this.fetchAndPublish(source, shown, at);
      this.metrics.fetched(name, outcome);
      return outcome;
    } catch (error) {
      const failure =
        error instanceof PollFailure
          ? error
          : new PollFailure('publish', `publishing ${shown} failed: ${(error as Error).message}`);
      this.metrics.fetched(name, failure.outcome);
      this.logger.warn(
        { dataSource: name, outcome: failure.outcome, error: failure.message },
        'data source fetch failed; the last good value is kept',
      );
      await this.repository.recordFailure(name, source.url, at, failure.message);
      return failure.outcome;
    }
  }

  private async fetchAndPublish(
    source: DataSourceDeclaration,
    shown: string,
    at: Date,
  ): Promise<FetchOutcome> {
    const headers = resolveHeaders(source.headers ?? {}, this.config.dataSources.env);
    if ('missing' in headers)
      throw new PollFailure(
        'headers',
        `the headers of data source "${source.name}" reference ${headers.missing.map((n) => `\${${n}}`).join(', ')}, which the control plane's environment does not set; set ${headers.missing.length > 1 ? 'them' : 'it'} where the control plane runs, or remove the reference from stepgate.yaml`,
      );
    const state = await this.repository.state(source.name);
    const etag = state !== null && state.url === source.url ? state.etag : null;
    let response;
    try {
      response = await fetchDataSource({
        url: source.url,
        headers: headers.headers,
        etag,
        maxBytes: source.maxBytes,
        timeoutMs: Math.round(source.timeout * 1000),
        outbound: this.config.dataSources.outbound,
      });
    } catch (error) {
      if (error instanceof DataSourceFetchError) throw new PollFailure(error.kind, error.message);
      throw error;
    }
    if (response.status === 'not_modified') {
      await this.repository.recordSuccess(source.name, source.url, at, 'not_modified');
      return 'not_modified';
    }
    let value: unknown;
    try {
      value = parseDataSourceBody(source.format, response.body);
    } catch (error) {
      if (error instanceof DataSourceParseError)
        throw new PollFailure('parse', `${shown} (format ${source.format}): ${error.message}`);
      throw error;
    }
    try {
      await this.liveData.write({
        name: source.name,
        op: 'put',
        body: value,
        actor: `data-source:${source.name}`,
        reason: `fetched from ${shown}`,
        fromDataSource: true,
        skipUnchanged: true,
      });
    } catch (error) {
      if (error instanceof StepgateError && error.code === 'data/invalid')
        throw new PollFailure(
          'invalid',
          `${shown} served a value that was refused: ${error.message}`,
        );
      throw error;
    }
    await this.repository.recordSuccess(source.name, source.url, at, {
      etag: response.etag,
      bytes: response.body.byteLength,
    });
    return 'ok';
  }
}
