/**
 * A software WebAuthn authenticator for tests: a real P-256 key pair per credential, a real
 * "none" attestation (CBOR attestationObject with authenticatorData: rpIdHash, flags, counter,
 * attested credential data with a COSE key) and real ES256 assertions, shaped exactly like the
 * JSON a browser posts. Knobs let a test break one thing at a time (UV flag, counter, origin).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

/** COSE (RFC 9053) labels for an EC2 P-256 ES256 key. */
const COSE = { kty: 1, alg: 3, crv: -1, x: -2, y: -3, EC2: 2, ES256: -7, P256: 1 } as const;

export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  userHandle: string;
  /** The signature counter the authenticator reports next time minus one. */
  counter: number;
}

export interface CeremonyOverrides {
  /** Sign for this challenge instead of the one in the options (e.g. another subject's). */
  challenge?: string;
  origin?: string;
  /** Clear the user-verified flag (a key touched without PIN or biometrics). */
  userVerified?: boolean;
  /** Report this signature counter instead of the next one. */
  counter?: number;
}

interface CreationOptions {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string };
}

interface RequestOptions {
  challenge: string;
  rpId?: string;
  allowCredentials?: { id: string }[];
}

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

export class SoftAuthenticator {
  readonly credentials = new Map<string, SoftCredential>();

  constructor(
    private readonly rpId: string,
    private readonly origin: string,
    /** Counter the first assertion starts from; 0 would mean "no counter" (never checked). */
    private readonly counterStart = 1,
  ) {}

  /** navigator.credentials.create(): a new credential and its RegistrationResponseJSON. */
  register(options: CreationOptions, overrides: CeremonyOverrides = {}): Record<string, unknown> {
    const rpId = options.rp.id ?? this.rpId;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const credentialId = randomBytes(32);
    const id = b64url(credentialId);
    const coseKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [COSE.kty, COSE.EC2],
        [COSE.alg, COSE.ES256],
        [COSE.crv, COSE.P256],
        [COSE.x, Buffer.from(jwk.x as string, 'base64url')],
        [COSE.y, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.flags(overrides) | FLAG_AT]),
      uint32(0),
      Buffer.alloc(16), // AAGUID: all zeros, as "none" attestation allows
      idLength,
      credentialId,
      Buffer.from(coseKey),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, overrides);
    this.credentials.set(id, {
      id,
      privateKey,
      userHandle: options.user.id,
      counter: this.counterStart - 1,
    });
    return {
      id,
      rawId: id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['usb'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /** navigator.credentials.get(): an AuthenticationResponseJSON signed by an allowed credential. */
  authenticate(
    options: RequestOptions,
    overrides: CeremonyOverrides = {},
  ): Record<string, unknown> {
    const allowed = options.allowCredentials?.map((c) => c.id) ?? [...this.credentials.keys()];
    const credential = allowed.map((id) => this.credentials.get(id)).find(Boolean);
    if (!credential)
      throw new Error('the soft authenticator holds none of the allowed credentials');
    const counter = overrides.counter ?? credential.counter + 1;
    credential.counter = Math.max(credential.counter, counter);
    const authData = Buffer.concat([
      sha256(options.rpId ?? this.rpId),
      Buffer.from([this.flags(overrides)]),
      uint32(counter),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides);
    // ES256 over authenticatorData || SHA-256(clientDataJSON), DER-encoded as WebAuthn wants.
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), {
      key: credential.privateKey,
      dsaEncoding: 'der',
    });
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  private flags(overrides: CeremonyOverrides): number {
    return FLAG_UP | (overrides.userVerified === false ? 0 : FLAG_UV);
  }

  private clientData(type: string, challenge: string, overrides: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type,
        challenge: overrides.challenge ?? challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
  }
}
