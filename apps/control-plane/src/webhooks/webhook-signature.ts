import { createHmac, timingSafeEqual } from 'node:crypto';

export type WebhookProvider = 'github' | 'gitea' | 'gitlab';

export interface WebhookHeaders {
  [name: string]: string | string[] | undefined;
}

export interface WebhookIdentity {
  provider: WebhookProvider;
  event: string;
  deliveryId: string | undefined;
}

const header = (headers: WebhookHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Which forge sent the request, by its headers; undefined when none of ours. */
export function identifyWebhook(headers: WebhookHeaders): WebhookIdentity | undefined {
  if (header(headers, 'x-gitlab-event') !== undefined) {
    return {
      provider: 'gitlab',
      event: header(headers, 'x-gitlab-event') as string,
      deliveryId: header(headers, 'x-gitlab-event-uuid') ?? header(headers, 'idempotency-key'),
    };
  }
  if (header(headers, 'x-gitea-event') !== undefined) {
    return {
      provider: 'gitea',
      event: header(headers, 'x-gitea-event') as string,
      deliveryId: header(headers, 'x-gitea-delivery'),
    };
  }
  if (header(headers, 'x-github-event') !== undefined) {
    return {
      provider: 'github',
      event: header(headers, 'x-github-event') as string,
      deliveryId: header(headers, 'x-github-delivery'),
    };
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks the forge's proof that it knows the secret: GitHub's `X-Hub-Signature-256`
 * (`sha256=` + HMAC-SHA256 of the raw body), Gitea's `X-Gitea-Signature` (hex HMAC, or the
 * GitHub header it also sends) and GitLab's `X-Gitlab-Token` (the secret itself). All
 * comparisons are constant-time.
 */
export function verifyWebhook(
  provider: WebhookProvider,
  headers: WebhookHeaders,
  rawBody: Buffer,
  secret: string,
): boolean {
  const hmac = createHmac('sha256', secret).update(rawBody).digest('hex');
  switch (provider) {
    case 'github': {
      const signature = header(headers, 'x-hub-signature-256');
      return signature !== undefined && safeEqual(signature, `sha256=${hmac}`);
    }
    case 'gitea': {
      const signature = header(headers, 'x-gitea-signature');
      const github = header(headers, 'x-hub-signature-256');
      return (
        (signature !== undefined && safeEqual(signature, hmac)) ||
        (github !== undefined && safeEqual(github, `sha256=${hmac}`))
      );
    }
    case 'gitlab': {
      const token = header(headers, 'x-gitlab-token');
      return token !== undefined && safeEqual(token, secret);
    }
  }
}
