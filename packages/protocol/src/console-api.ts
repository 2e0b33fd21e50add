import { z } from 'zod';

/**
 * `GET /v1/console/config` (public): how the web console offers sign-in. `oidc` is null unless
 * the active version's stepgate.yaml declares `console.oidc`; then the console runs the
 * authorization code flow with PKCE (S256) at `authorizationEndpoint` and `tokenEndpoint` as
 * the public client `clientId`, asking for `scopes`, and sends the ID token to the admin API
 * as `Authorization: Bearer <id_token>`.
 */
export const consoleOidcConfigSchema = z.strictObject({
  issuer: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  authorizationEndpoint: z.string(),
  tokenEndpoint: z.string(),
  /** Where the browser may end the provider's session, when the provider publishes one. */
  endSessionEndpoint: z.string().nullable(),
});
export type ConsoleOidcConfig = z.infer<typeof consoleOidcConfigSchema>;

export const consoleConfigResponseSchema = z.strictObject({
  oidc: consoleOidcConfigSchema.nullable(),
});
export type ConsoleConfigResponse = z.infer<typeof consoleConfigResponseSchema>;
