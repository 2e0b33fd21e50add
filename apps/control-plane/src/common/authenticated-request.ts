import type { Request } from 'express';
import type { Principal } from './scopes.js';

/** An HTTP request after the global AuthGuard: `principal` is set on every non-public route. */
export type AuthenticatedRequest = Request & { principal?: Principal };
