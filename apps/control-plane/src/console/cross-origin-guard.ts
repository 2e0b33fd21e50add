/**
 * The admin API refuses cross-origin use from browsers. Bearer tokens already keep other sites
 * from acting as a signed-in user (no cookie is ever sent), but a page elsewhere must not use
 * the API even with a token it holds: only the console on this host (or an origin named in
 * STEPGATE_WEBAUTHN_ORIGIN, where the console is published) may call it from a browser.
 * Clients that are not browsers send no Origin and no Sec-Fetch-Site and pass.
 */
import type { NextFunction, Request, Response } from 'express';

export function crossOriginGuard(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins.map((origin) => origin.toLowerCase()));
  return (request: Request, response: Response, next: NextFunction) => {
    const origin = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    if (origin === undefined) {
      // Same-origin GETs carry no Origin; a cross-site one still says so here.
      if (site === undefined || site === 'same-origin' || site === 'none') return next();
    } else if (sameHost(origin, request.headers.host) || allowed.has(origin.toLowerCase()))
      return next();
    response.status(403).json({
      error: 'auth/forbidden',
      message: `cross-origin requests to the Stepgate API are refused (Origin: ${(origin ?? 'none').slice(0, 200)}, Sec-Fetch-Site: ${String(site ?? 'none').slice(0, 40)}); use the console at /console on this host, add the origin to STEPGATE_WEBAUTHN_ORIGIN if the console is published there, or call the API from a server`,
    });
  };
}

/** The Origin names the host the request was sent to (scheme aside: a proxy may end TLS). */
function sameHost(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
