// The shared requests of the peer comparison: one deterministic generator, and the translation
// of each request into the input of each engine. A request is Stepgate's input shape plus the
// evaluation instant `now`; every field every rule reads is always present (except `geo`, which
// the rules test with has()), so no engine ever evaluates a missing attribute: a missing one is
// an error in all three, and each treats rule errors differently.
import { OFFICE_TIME_ZONE, SERVICES, VERBS } from './policy-set.js';

/** mulberry32: small, fast, and the same sequence on every machine. */
function generator(seed) {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { random, pick: (values) => values[Math.floor(random() * values.length)] };
}

const IPS = [
  '10.1.2.3',
  '10.200.0.9',
  '172.20.1.1',
  '172.32.0.1', // just outside 172.16.0.0/12
  '192.168.1.10',
  '203.0.113.9',
  '2001:db8::7',
  '2001:db9::1', // just outside 2001:db8::/32
];
const COUNTRIES = ['DE', 'US', 'FR', 'GB', 'NL', 'JP', 'KP', 'IR'];
const ASNS = [3320, 15169, 13335, 16509, 64496];
/** Monday 2026-11-16 00:00 UTC: requests spread over the two weeks after it, minute by minute. */
const WEEKS_START = Date.parse('2026-11-16T00:00:00Z');

/**
 * `count` requests from `seed`: every service, all four verbs, one in ten on another service's
 * resource (no policy's target matches), instants across two weeks (office hours, nights,
 * weekends), corporate and outside addresses (IPv4 and IPv6, next to the range edges), blocked
 * and allowed countries and ASNs, or no geo at all.
 */
export function generateRequests(count, seed = 20261123) {
  const { random, pick } = generator(seed);
  const requests = [];
  for (let n = 0; n < count; n++) {
    const i = Math.floor(random() * SERVICES);
    const resourceService = random() < 0.1 ? (i + 1 + Math.floor(random() * 49)) % SERVICES : i;
    const request = {
      principal: {
        id: pick(['alice', 'bob', 'carol', 'dave', 'erin']),
        roles: pick([[], ['admin'], ['dev'], ['admin', 'dev']]),
        groups: pick([
          [`svc${i}-team`],
          [`svc${(i + 7) % SERVICES}-team`],
          [],
          ['platform-team', `svc${i}-team`],
        ]),
        attributes: { department: pick(['payments', 'platform', 'security']) },
      },
      action: `svc${i}:${pick(VERBS)}`,
      resource: {
        kind: 'service',
        id: `svc${resourceService}/${pick(['api', 'db', 'queue'])}`,
        attributes: {
          owner: pick(['payments', 'platform']),
          classification: pick(['internal', 'secret', 'public']),
        },
      },
      context: { ip: pick(IPS) },
    };
    if (random() < 0.75) request.context.geo = { country: pick(COUNTRIES), asn: pick(ASNS) };
    const now = new Date(WEEKS_START + Math.floor(random() * 14 * 24 * 60) * 60_000);
    requests.push({ request, now });
  }
  return requests;
}

const berlinClock = new Intl.DateTimeFormat('en-GB', {
  timeZone: OFFICE_TIME_ZONE,
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** What a Cedar caller computes from its clock: Cedar itself has neither clock nor time zones. */
export function cedarTime(now) {
  const [hour, minute] = berlinClock.format(now).split(':').map(Number);
  return { berlinMinuteOfDay: hour * 60 + minute, utcDayOfWeek: now.getUTCDay() };
}

const serviceOf = (resourceId) => resourceId.slice(0, resourceId.indexOf('/'));

/** The call `statefulIsAuthorized` takes, minus `preparsedPolicySetId`. */
export function toCedar({ request, now }) {
  const { principal, action, resource, context } = request;
  const user = { type: 'User', id: principal.id };
  const target = { type: 'Resource', id: resource.id };
  const cedarContext = {
    ip: { __extn: { fn: 'ip', arg: context.ip } },
    time: cedarTime(now),
  };
  if (context.geo) cedarContext.geo = { country: context.geo.country, asn: context.geo.asn };
  return {
    principal: user,
    action: { type: 'Action', id: action },
    resource: target,
    context: cedarContext,
    entities: [
      {
        uid: user,
        attrs: { department: principal.attributes.department },
        parents: [
          ...principal.roles.map((id) => ({ type: 'Role', id })),
          ...principal.groups.map((id) => ({ type: 'Group', id })),
        ],
      },
      {
        uid: target,
        attrs: { ...resource.attributes },
        parents: [{ type: 'Service', id: serviceOf(resource.id) }],
      },
    ],
  };
}

/**
 * The body of Cerbos's `POST /api/check/resources` for one action. The resource kind is the
 * service (one resource policy per service); the request context (IP, geo, instant) rides in
 * the principal's attributes, as Cerbos's own examples carry `P.attr.ip_address`. Cerbos needs
 * at least one role: a principal without any is sent as `user`, a role no rule names.
 */
export function toCerbos({ request, now }, requestId = 'peers') {
  const { principal, action, resource, context } = request;
  const attr = {
    department: principal.attributes.department,
    groups: principal.groups,
    ip: context.ip,
    now: now.toISOString(),
  };
  if (context.geo) attr.geo = { country: context.geo.country, asn: context.geo.asn };
  return {
    requestId,
    principal: {
      id: principal.id,
      roles: principal.roles.length > 0 ? principal.roles : ['user'],
      attr,
    },
    resources: [
      {
        resource: {
          kind: serviceOf(resource.id),
          id: resource.id,
          attr: { ...resource.attributes },
        },
        actions: [action],
      },
    ],
  };
}

/** The `POST /v1/decide` body of the Stepgate agent (its clock is `now`). */
export const toStepgateBody = ({ request }) => request;
