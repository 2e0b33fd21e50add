import { EXAMPLE_SETTINGS } from '../../support/policy-fixtures.js';

/** Policy additions and requests shared by the agent suites. */

/** HTTP rules for the reverse-proxy check (the example repository has none for anonymous callers). */
export const GATEWAY_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: gateway
description: Public pages for everyone; account pages need recent MFA.
target:
  actions: ["http:*"]
  resources: ["/public/**", "/account/**"]
rules:
  - name: public
    effect: allow
    when: resource.id.startsWith("/public/")
  - name: account-mfa
    effect: step_up
    when: resource.id.startsWith("/account/")
    require: { level: mfa, maxAge: 10m }
    message: Account settings need MFA within the last 10 minutes.
  - name: account
    effect: allow
    when: resource.id.startsWith("/account/")
`;

/** The example settings plus a decision-log mask. */
export const MASKED_SETTINGS = `${EXAMPLE_SETTINGS}mask: [context.ip, principal.attributes.email]\n`;

/** From policies/api/geo-restrictions.test.yaml: allowed (api-access/staff-outside-admin). */
export const ALLOWED = {
  principal: { id: 'erin', groups: ['staff'], attributes: { email: 'erin@example.com' } },
  action: 'http:GET',
  resource: { kind: 'http', id: '/api/orders' },
  context: { ip: '192.0.2.10', geo: { country: 'DE', asn: 3320 } },
};

/** From the same suite: refused (api-geo-restrictions/blocked-country). */
export const DENIED = {
  principal: { id: 'erin', groups: ['staff'] },
  action: 'http:GET',
  resource: { kind: 'http', id: '/api/orders' },
  context: { ip: '203.0.113.7', geo: { country: 'KP', asn: 131279 } },
};

/** From policies/secrets/secrets-read.test.yaml: without evidence, MFA within 15 minutes is due. */
export const STEP_UP = {
  principal: { id: 'paul', groups: ['payments'] },
  action: 'secrets:read',
  resource: { kind: 'secret', id: 'payments/stripe/api-key' },
};
