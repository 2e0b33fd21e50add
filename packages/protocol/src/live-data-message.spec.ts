import { CompactSign } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  agentHandshakeSchema,
  DATA_JWS_TYPE,
  dataApplies,
  signDataMessage,
  signShadowCleared,
  verifyDataMessage,
} from './agent-protocol.js';
import { canonicalJson } from './canonical.js';
import { generateSigningKey, importSigningKey, toJwks } from './keys.js';
import type { BundleJwks } from './keys.js';

interface Key {
  jwks: BundleJwks;
  signing: { kid: string; privateKey: CryptoKey };
}

async function key(): Promise<Key> {
  const generated = await generateSigningKey();
  const imported = await importSigningKey(generated.privateJwk);
  return {
    jwks: toJwks([generated.publicJwk]),
    signing: { kid: imported.kid, privateKey: imported.privateKey },
  };
}

let real: Key;
let rogue: Key;
beforeAll(async () => {
  [real, rogue] = await Promise.all([key(), key()]);
});

const delta = {
  fromRevision: 3,
  revision: 5,
  documents: { blocked_ips: ['203.0.113.7'] },
  bundleRevision: 2,
};

describe('signed live-data messages', () => {
  it('verifies a message signed by a trusted key', async () => {
    const message = await signDataMessage(delta, real.signing, new Date('2026-12-02T10:00:00Z'));
    expect(message.revision).toBe(5);
    expect(await verifyDataMessage(message, real.jwks)).toEqual({
      format: 'stepgate.data/v1',
      ...delta,
      issuedAt: '2026-12-02T10:00:00.000Z',
    });
  });

  it('refuses a tampered payload', async () => {
    const message = await signDataMessage(delta, real.signing);
    const [header, , signature] = message.jws.split('.');
    const forged = Buffer.from(
      canonicalJson({
        format: 'stepgate.data/v1',
        ...delta,
        documents: { blocked_ips: [] },
        issuedAt: new Date().toISOString(),
      }),
    ).toString('base64url');
    await expect(
      verifyDataMessage({ revision: 5, jws: `${header}.${forged}.${signature}` }, real.jwks),
    ).rejects.toThrow(/live data refused: signature does not verify/);
  });

  it('refuses a message signed by an untrusted key', async () => {
    const message = await signDataMessage(delta, rogue.signing);
    await expect(verifyDataMessage(message, real.jwks)).rejects.toThrow(
      /live data refused: .*unknown key/,
    );
  });

  it('refuses another signed statement, a wrong format and a relabelled revision', async () => {
    // A shadow clear is signed by the same key: its typ keeps it from passing as data.
    const clear = await signShadowCleared(5, real.signing);
    await expect(verifyDataMessage({ revision: 5, jws: clear.jws }, real.jwks)).rejects.toThrow(
      /type "stepgate-shadow-cleared\+jws" is not stepgate-data\+jws/,
    );
    const wrongFormat = await new CompactSign(
      new TextEncoder().encode(
        canonicalJson({
          format: 'stepgate.data/v2',
          ...delta,
          issuedAt: new Date().toISOString(),
        }),
      ),
    )
      .setProtectedHeader({ alg: 'EdDSA', kid: real.signing.kid, typ: DATA_JWS_TYPE })
      .sign(real.signing.privateKey);
    await expect(verifyDataMessage({ revision: 5, jws: wrongFormat }, real.jwks)).rejects.toThrow(
      /payload does not match: format/,
    );
    const signed = await signDataMessage(delta, real.signing);
    await expect(verifyDataMessage({ revision: 9, jws: signed.jws }, real.jwks)).rejects.toThrow(
      /announced as revision 9, signed as 5/,
    );
    await expect(signDataMessage({ ...delta, fromRevision: 5 }, real.signing)).rejects.toThrow(
      /fromRevision must be below revision/,
    );
  });
});

describe('the ordering rule', () => {
  it('applies a message that starts at or before the revision held and ends past it', () => {
    expect(dataApplies(3, { fromRevision: 3, revision: 5 })).toBe('apply');
    expect(dataApplies(4, { fromRevision: 3, revision: 5 })).toBe('apply');
    expect(dataApplies(7, { fromRevision: 0, revision: 9 })).toBe('apply');
  });

  it('refuses a replay of an older revision and asks again past a gap', () => {
    expect(dataApplies(5, { fromRevision: 3, revision: 5 })).toBe('duplicate');
    expect(dataApplies(8, { fromRevision: 3, revision: 5 })).toBe('duplicate');
    expect(dataApplies(2, { fromRevision: 3, revision: 5 })).toBe('gap');
  });
});

describe('the handshake', () => {
  it('takes the data revision, 0 when an older agent sends none', () => {
    const base = { token: 't', agentId: 'a1' };
    expect(agentHandshakeSchema.parse(base).dataRevision).toBe(0);
    expect(agentHandshakeSchema.parse({ ...base, dataRevision: 12 }).dataRevision).toBe(12);
    expect(agentHandshakeSchema.safeParse({ ...base, dataRevision: -1 }).success).toBe(false);
  });
});
