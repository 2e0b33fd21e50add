// The shared policy set of the peer comparison, generated from one description into three
// languages: Stepgate (YAML + CEL), Cedar (policy text) and Cerbos (resource policies, derived
// roles, exported constants). 50 services, 4 rules each (200 rules):
//   blocked-geo           deny     a blocked country or ASN                 (attribute condition)
//   admin-outside-office  step_up  admin action off the corporate network   (IP ranges, time window)
//                                  or outside office hours in Berlin
//   team-members          allow    the service's team, or an admin of the    (role check, attributes)
//                                  owning department
//   readers               allow    read of a non-secret resource on a        (attribute condition,
//                                  business day (UTC)                        time window)
// Step-up has no counterpart in Cedar or Cerbos; as the step-up is unmet (the requests carry no
// evidence), it is a refusal there: `forbid` in Cedar, EFFECT_DENY in Cerbos.
//
// Time windows, per language:
//   Stepgate  `now.withinHours("08:00", "19:00", "Europe/Berlin")`, `now.getDayOfWeek("UTC")`:
//             `now` is the evaluation time (the agent's clock, or the `now` option in-process).
//   Cedar     no clock and no time zones: the caller computes `context.time.berlinMinuteOfDay`
//             and `context.time.utcDayOfWeek` from the same instant (see requests.js).
//   Cerbos    `now()` is the PDP's clock and cannot be pinned per request, so the request carries
//             the instant as `P.attr.now` and the policy reads
//             `timestamp(P.attr.now).getHours("Europe/Berlin")` / `.getDayOfWeek("UTC")`.
// Office hours vary by service (start 07-09, end 18-19, always on the hour, so the three forms
// agree minute for minute); readers are allowed Monday-Friday, Monday-Saturday for every fifth
// service.

import { readFileSync } from 'node:fs';

export const SERVICES = 50;

/** The four verbs of every service: the closed set of actions requests use (see requests.js). */
export const VERBS = ['read', 'write', 'admin:rotate-keys', 'admin:users/delete'];

/** Shared data: Stepgate's `data.network`, Cerbos's exported constants, inlined into Cedar. */
export const NETWORK = {
  corporate: ['10.0.0.0/8', '172.16.0.0/12', '2001:db8::/32'],
  blockedCountries: ['KP', 'IR', 'SY', 'CU'],
  blockedAsns: [64496, 64511, 65535],
};

export const OFFICE_TIME_ZONE = 'Europe/Berlin';

/** The per-service parameters every language is generated from. */
export function service(i) {
  const name = `svc${i}`;
  return {
    name,
    team: `${name}-team`,
    actions: VERBS.map((verb) => `${name}:${verb}`),
    adminActions: VERBS.filter((verb) => verb.startsWith('admin:')).map(
      (verb) => `${name}:${verb}`,
    ),
    readAction: `${name}:read`,
    /** Office hours [startHour, endHour) in Europe/Berlin. */
    startHour: 7 + (i % 3),
    endHour: 18 + (i % 2),
    /** Days as CEL's getDayOfWeek and Date#getUTCDay count them (0 = Sunday). */
    readerDays: i % 5 === 0 ? [1, 2, 3, 4, 5, 6] : [1, 2, 3, 4, 5],
    level: i % 3 === 0 ? 'phishing_resistant' : 'mfa',
    maxAgeMinutes: 5 + (i % 4) * 5,
  };
}

export const services = () => Array.from({ length: SERVICES }, (_, i) => service(i));

const hh = (hour) => `${String(hour).padStart(2, '0')}:00`;
const list = (values) => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;

// ---------------------------------------------------------------------------------------------
// Stepgate

const STEPGATE_SETTINGS = readFileSync(
  new URL('../../test/support/fixtures/settings.yaml', import.meta.url),
  'utf8',
);

function stepgatePolicy(s) {
  return `apiVersion: stepgate/v1
kind: Policy
name: ${s.name}
description: Access to ${s.name}.
target:
  actions: ["${s.name}:*", "${s.name}:admin:**"]
  resources: ["${s.name}/**"]
rules:
  - name: blocked-geo
    effect: deny
    when: 'has(context.geo) && (context.geo.country in data.network.blockedCountries || context.geo.asn in data.network.blockedAsns)'
  - name: admin-outside-office
    effect: step_up
    when: 'action.globMatch("${s.name}:admin:**") && (!context.ip.inCidr(data.network.corporate) || !now.withinHours("${hh(s.startHour)}", "${hh(s.endHour)}", "${OFFICE_TIME_ZONE}"))'
    require: { level: ${s.level}, maxAge: ${s.maxAgeMinutes}m }
  - name: team-members
    effect: allow
    when: '"${s.team}" in principal.groups || ("admin" in principal.roles && principal.attributes.department == resource.attributes.owner)'
  - name: readers
    effect: allow
    when: 'action == "${s.readAction}" && resource.attributes.classification != "secret" && now.getDayOfWeek("UTC") in ${list(s.readerDays)}'
`;
}

/** Source files for `compile()` from @stepgate/policy. */
export function stepgateFiles() {
  return [
    { path: 'stepgate.yaml', content: STEPGATE_SETTINGS },
    {
      path: 'data/network.yaml',
      content: Object.entries(NETWORK)
        .map(([key, values]) => `${key}: ${list(values)}\n`)
        .join(''),
    },
    ...services().map((s) => ({ path: `services/${s.name}.yaml`, content: stepgatePolicy(s) })),
  ];
}

// ---------------------------------------------------------------------------------------------
// Cedar

const cedarActions = (actions) =>
  `[${actions.map((a) => `Action::${JSON.stringify(a)}`).join(', ')}]`;
const cedarCorporate = () =>
  NETWORK.corporate.map((cidr) => `context.ip.isInRange(ip("${cidr}"))`).join(' || ');

/**
 * Cedar policies keyed `<service>/<rule>` (the form `preparsePolicySet` takes as
 * `staticPolicies`). Roles and groups are entity parents (`principal in Role::"admin"`),
 * services are the parents of resources (`resource in Service::"svc3"`), and Stepgate's action
 * globs become the explicit action lists of the closed verb set.
 */
export function cedarPolicies() {
  const policies = {};
  for (const s of services()) {
    const scope = (actions) =>
      `principal, action in ${cedarActions(actions)}, resource in Service::"${s.name}"`;
    policies[`${s.name}/blocked-geo`] =
      `forbid (${scope(s.actions)})\nwhen { context has geo && (${list(NETWORK.blockedCountries)}.contains(context.geo.country) || ${list(NETWORK.blockedAsns)}.contains(context.geo.asn)) };`;
    policies[`${s.name}/admin-outside-office`] =
      `forbid (${scope(s.adminActions)})\nwhen { !(${cedarCorporate()}) || context.time.berlinMinuteOfDay < ${s.startHour * 60} || context.time.berlinMinuteOfDay >= ${s.endHour * 60} };`;
    policies[`${s.name}/team-members`] =
      `permit (${scope(s.actions)})\nwhen { principal in Group::"${s.team}" || (principal in Role::"admin" && principal.department == resource.owner) };`;
    policies[`${s.name}/readers`] =
      `permit (principal, action == Action::"${s.readAction}", resource in Service::"${s.name}")\nwhen { resource.classification != "secret" && ${list(s.readerDays)}.contains(context.time.utcDayOfWeek) };`;
  }
  return policies;
}

// ---------------------------------------------------------------------------------------------
// Cerbos

const CERBOS_DERIVED_ROLES = `apiVersion: api.cerbos.dev/v1
derivedRoles:
  name: service_roles
  definitions:
    - name: team_member
      parentRoles: ["*"]
      condition:
        match:
          expr: (R.kind + "-team") in P.attr.groups
    - name: owning_admin
      parentRoles: ["admin"]
      condition:
        match:
          expr: P.attr.department == R.attr.owner
`;

const CERBOS_CONSTANTS = `apiVersion: api.cerbos.dev/v1
exportConstants:
  name: network
  definitions:
${Object.entries(NETWORK)
  .map(([key, values]) => `    ${key}: ${list(values)}\n`)
  .join('')}`;

function cerbosPolicy(s) {
  const actions = list([`${s.name}:*`, `${s.name}:admin:*`]);
  return `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  resource: ${s.name}
  version: default
  importDerivedRoles: [service_roles]
  constants:
    import: [network]
  variables:
    local:
      corporate: C.corporate.exists(cidr, P.attr.ip.inIPAddrRange(cidr))
      berlin_hour: timestamp(P.attr.now).getHours("${OFFICE_TIME_ZONE}")
  rules:
    - name: blocked-geo
      actions: ${actions}
      effect: EFFECT_DENY
      roles: ["*"]
      condition:
        match:
          expr: has(P.attr.geo) && (P.attr.geo.country in C.blockedCountries || P.attr.geo.asn in C.blockedAsns)
    - name: admin-outside-office
      actions: ${list([`${s.name}:admin:*`])}
      effect: EFFECT_DENY
      roles: ["*"]
      condition:
        match:
          expr: '!V.corporate || V.berlin_hour < ${s.startHour} || V.berlin_hour >= ${s.endHour}'
    - name: team-members
      actions: ${actions}
      effect: EFFECT_ALLOW
      derivedRoles: [team_member, owning_admin]
    - name: readers
      actions: ${list([s.readAction])}
      effect: EFFECT_ALLOW
      roles: ["*"]
      condition:
        match:
          expr: R.attr.classification != "secret" && timestamp(P.attr.now).getDayOfWeek("UTC") in ${list(s.readerDays)}
`;
}

/**
 * Files of a Cerbos disk store: `{path, content}` relative to the policy directory. The resource
 * kind is the service; Cerbos's action wildcard `*` stands for one `:`-separated segment (and
 * matches `/`), unlike Stepgate's `*` / `**`, so the target `svc3:*` + `svc3:admin:**` becomes
 * `svc3:*` + `svc3:admin:*`: the same over the closed verb set the requests use, not beyond it.
 */
export function cerbosFiles() {
  return [
    { path: 'derived_roles/service_roles.yaml', content: CERBOS_DERIVED_ROLES },
    { path: 'constants/network.yaml', content: CERBOS_CONSTANTS },
    ...services().map((s) => ({ path: `resources/${s.name}.yaml`, content: cerbosPolicy(s) })),
  ];
}

/** What the report says about the set. */
export const POLICY_SET_SUMMARY = {
  stepgate: `${SERVICES} policies, ${SERVICES * 4} rules`,
  cedar: `${SERVICES * 4} policies (one per Stepgate rule: 2 permit, 2 forbid per service)`,
  cerbos: `${SERVICES} resource policies, ${SERVICES * 4} rules, 2 derived roles, 1 constants file`,
};
