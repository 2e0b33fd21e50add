/**
 * The headers of every console response. The page is plain external files, so the policy can
 * be strict: scripts, styles and API calls from this origin only; no inline code, no framing,
 * no plugins. `connect-src` may add an OIDC issuer's origin (the browser exchanges the
 * authorization code at its token endpoint).
 */
export function consoleContentSecurityPolicy(extraConnectOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    ['connect-src', "'self'", ...extraConnectOrigins].join(' '),
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

export function consoleSecurityHeaders(
  extraConnectOrigins: readonly string[] = [],
): Record<string, string> {
  return {
    'content-security-policy': consoleContentSecurityPolicy(extraConnectOrigins),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy':
      'publickey-credentials-get=(self), publickey-credentials-create=(self), camera=(), microphone=(), geolocation=()',
  };
}
