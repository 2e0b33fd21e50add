import type { WebhookProvider } from './webhook-signature.js';

const MAX_NAME = 100;

/**
 * Who pushed, as a verified push webhook reports it, for the versions the sync records and the
 * audit of their activation: `<provider>:<user>` (`github:octocat`). The forge vouches for it
 * only as far as the webhook secret is kept; a payload without a usable name gives
 * `<provider>:unknown`. GitHub and Gitea send `pusher` (GitHub `name` is the login; Gitea has
 * `login`/`username`) and `sender.login`; GitLab sends `user_username`.
 */
export function webhookPusher(
  provider: WebhookProvider,
  payload: Record<string, unknown> | undefined,
): string {
  const candidates: unknown[] =
    provider === 'gitlab'
      ? [payload?.user_username, payload?.user_name]
      : [
          field(payload?.pusher, 'login'),
          field(payload?.pusher, 'username'),
          field(payload?.pusher, 'name'),
          field(payload?.sender, 'login'),
        ];
  const name = candidates.find(
    (value): value is string => typeof value === 'string' && value.trim() !== '',
  );
  return `${provider}:${name === undefined ? 'unknown' : clean(name)}`;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** One printable line of bounded length: it lands in audit rows and terminals. */
function clean(name: string): string {
  return name
    .trim()
    .replace(/[\p{Cc}\s]+/gu, '_')
    .slice(0, MAX_NAME);
}
