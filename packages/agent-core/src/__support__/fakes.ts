import { compile, type CompiledPolicySet } from '@stepgate/policy';
import {
  bundleHashOf,
  endorseKeys,
  generateSigningKey,
  importSigningKey,
  signBundle,
  signDataMessage,
  signGrant,
  signGrantsMessage,
  signShadowCleared,
  signSignalsMessage,
  toJwks,
  type BundleAck,
  type Ed25519PublicJwk,
  type BundleMessage,
  type BundlePayload,
  type BundleRejected,
  type DataAck,
  type DataMessage,
  type DataResync,
  type GrantClaims,
  type GrantsMessage,
  type LogBatch,
  type LogBatchAck,
  type ShadowClearedMessage,
  type SignalsMessage,
  type SignalsPayload,
} from '@stepgate/protocol';
import type {
  BundleCache,
  BundleKind,
  Clock,
  ControlPlaneLink,
  GrantCache,
  KeyPinStore,
  LiveDataCache,
  Logger,
  PinnedKeys,
  StoredGrants,
} from '../ports.js';

export const SETTINGS = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
onError: deny
levels:
  - name: pwd
    acr: ["urn:stepgate:pwd"]
  - name: mfa
    acr: ["urn:stepgate:mfa", "http://schemas.openid.net/pape/policies/2007/06/multi-factor"]
    amr: ["otp", "mfa"]
  - name: hwk
    amr: ["hwk"]
  - name: phr
    acr: ["urn:stepgate:phr"]
`;

/** Compiles inline policy files (stepgate.yaml defaults to SETTINGS). */
export function policySet(files: Record<string, string>): CompiledPolicySet {
  const result = compile(
    Object.entries({ 'stepgate.yaml': SETTINGS, ...files }).map(([path, content]) => ({
      path,
      content,
    })),
  );
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.file}: ${e.message}`).join('\n'));
  return result.policySet;
}

export const DOCS_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["docs:*"] }
rules:
  - name: no-archive
    effect: deny
    when: resource.id.startsWith("archive/")
    message: The archive is closed.
  - name: secret-step-up
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa, maxAge: 5m }
    message: Secret documents need recent MFA.
  - name: readers
    effect: allow
    when: '"reader" in principal.roles'
`;

export class FakeClock implements Clock {
  constructor(public ms = Date.parse('2026-11-23T10:00:00Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class MemoryCache implements BundleCache {
  readonly files = new Map<BundleKind, string>();
  syncedAt: number | undefined;
  failSave = false;
  async load(kind: BundleKind): Promise<string | undefined> {
    return this.files.get(kind);
  }
  async save(kind: BundleKind, jws: string): Promise<void> {
    if (this.failSave) throw new Error('disk full');
    this.files.set(kind, jws);
  }
  async remove(kind: BundleKind): Promise<void> {
    this.files.delete(kind);
  }
  async loadSyncedAt(): Promise<number | undefined> {
    return this.syncedAt;
  }
  async saveSyncedAt(at: number): Promise<void> {
    this.syncedAt = at;
  }
}

export class MemoryPins implements KeyPinStore {
  constructor(public stored: unknown = undefined) {}
  saves = 0;
  async load(): Promise<unknown> {
    return this.stored;
  }
  async save(pinned: PinnedKeys): Promise<void> {
    this.saves++;
    this.stored = structuredClone(pinned);
  }
}

export class FakeLink implements ControlPlaneLink {
  connected = false;
  acks: BundleAck[] = [];
  rejections: BundleRejected[] = [];
  batches: LogBatch[] = [];
  /** What sendLogs answers next; a function may throw (timeout). */
  answer: (batch: LogBatch) => LogBatchAck | Promise<LogBatchAck> = () => ({ ok: true });
  private bundleHandler?: (message: BundleMessage) => void;
  private clearedHandler?: (message: ShadowClearedMessage) => void;
  private keysHandler?: (jwks: unknown) => void;
  private grantsHandler?: (message: GrantsMessage) => void;
  private dataHandler?: (message: DataMessage) => void;
  private signalsHandler?: (message: SignalsMessage) => void;
  private connectionHandler?: (connected: boolean) => void;
  dataAcks: DataAck[] = [];
  resyncs: DataResync[] = [];

  onBundle(handler: (message: BundleMessage) => void): void {
    this.bundleHandler = handler;
  }
  onShadowCleared(handler: (message: ShadowClearedMessage) => void): void {
    this.clearedHandler = handler;
  }
  onKeys(handler: (jwks: unknown) => void): void {
    this.keysHandler = handler;
  }
  onGrants(handler: (message: GrantsMessage) => void): void {
    this.grantsHandler = handler;
  }
  onConnectionChange(handler: (connected: boolean) => void): void {
    this.connectionHandler = handler;
  }
  onData(handler: (message: DataMessage) => void): void {
    this.dataHandler = handler;
  }
  ackData(ack: DataAck): void {
    this.dataAcks.push(ack);
  }
  resyncData(request: DataResync): void {
    this.resyncs.push(request);
  }
  sendData(message: DataMessage): void {
    this.dataHandler?.(message);
  }
  onSignals(handler: (message: SignalsMessage) => void): void {
    this.signalsHandler = handler;
  }
  sendSignals(message: SignalsMessage): void {
    this.signalsHandler?.(message);
  }
  ackBundle(ack: BundleAck): void {
    this.acks.push(ack);
  }
  rejectBundle(rejected: BundleRejected): void {
    this.rejections.push(rejected);
  }
  async sendLogs(batch: LogBatch): Promise<LogBatchAck> {
    this.batches.push(structuredClone(batch));
    return this.answer(batch);
  }
  setConnected(connected: boolean): void {
    this.connected = connected;
    this.connectionHandler?.(connected);
  }
  sendBundle(message: BundleMessage): void {
    this.bundleHandler?.(message);
  }
  sendKeys(jwks: unknown): void {
    this.keysHandler?.(jwks);
  }
  sendShadowCleared(message: ShadowClearedMessage): void {
    this.clearedHandler?.(message);
  }
  sendGrants(message: GrantsMessage): void {
    this.grantsHandler?.(message);
  }
}

export class MemoryLiveDataCache implements LiveDataCache {
  stored: DataMessage[] | undefined;
  failing = false;
  async load(): Promise<DataMessage[] | undefined> {
    return this.stored === undefined ? undefined : structuredClone(this.stored);
  }
  async save(messages: DataMessage[]): Promise<void> {
    if (this.failing) throw new Error('disk full');
    this.stored = structuredClone(messages);
  }
}

export class MemoryGrantCache implements GrantCache {
  stored: StoredGrants | undefined;
  async load(): Promise<StoredGrants | undefined> {
    return this.stored === undefined ? undefined : structuredClone(this.stored);
  }
  async save(state: StoredGrants): Promise<void> {
    this.stored = structuredClone(state);
  }
}

export interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (first: Record<string, unknown> | string, message?: string): void => {
      if (typeof first === 'string') lines.push({ level, message: first });
      else lines.push({ level, message: message ?? '', fields: first });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A signing key and helpers to sign bundles with it. */
export async function signer() {
  const generated = await generateSigningKey();
  const key = await importSigningKey(generated.privateJwk);
  const jwks = toJwks([generated.publicJwk]);
  return {
    kid: key.kid,
    jwks,
    publicJwk: generated.publicJwk,
    signingKey: { kid: key.kid, privateKey: key.privateKey },
    /** Signs grant claims (defaults: an mfa elevation of alice on docs:*, secret/**). */
    grant(claims: Partial<GrantClaims> = {}): Promise<string> {
      return signGrant(grantClaims(claims), { kid: key.kid, privateKey: key.privateKey });
    },
    /** A grants message with its removals signed, as the control plane sends it. */
    grants(
      change: Omit<GrantsMessage, 'revocation'>,
      readAt = new Date('2026-11-23T10:00:00Z'),
    ): Promise<GrantsMessage> {
      return signGrantsMessage(change, { kid: key.kid, privateKey: key.privateKey }, readAt);
    },
    /** A signed shadow clear. */
    cleared(revision: number): Promise<ShadowClearedMessage> {
      return signShadowCleared(revision, { kid: key.kid, privateKey: key.privateKey });
    },
    /** A signed live-data message: `documents` as of `revision`, changed since `fromRevision`. */
    data(
      fromRevision: number,
      revision: number,
      documents: Record<string, unknown>,
    ): Promise<DataMessage> {
      return signDataMessage(
        { fromRevision, revision, documents, bundleRevision: 1 },
        { kid: key.kid, privateKey: key.privateKey },
      );
    },
    /** A signed risk-signals message (a delta unless `snapshot`). */
    signals(payload: Omit<SignalsPayload, 'format' | 'issuedAt'>): Promise<SignalsMessage> {
      return signSignalsMessage(payload, { kid: key.kid, privateKey: key.privateKey });
    },
    /** Endorses `keys` (e.g. this key and the next one) with this key. */
    endorse(keys: Ed25519PublicJwk[]): Promise<string> {
      return endorseKeys(keys, { kid: key.kid, privateKey: key.privateKey });
    },
    async sign(
      set: CompiledPolicySet,
      revision: number,
      overrides: Partial<BundlePayload> = {},
    ): Promise<string> {
      const payload: BundlePayload = {
        format: 'stepgate.bundle/v1',
        kind: 'active',
        revision,
        version: {
          id: `v${revision}`,
          number: revision,
          sha: revision.toString(16).padStart(40, '0'),
          branch: 'main',
          committedAt: '2026-11-23T09:00:00Z',
        },
        rollback: false,
        issuedAt: '2026-11-23T09:30:00Z',
        bundleHash: await bundleHashOf(set),
        policySet: set,
        ...overrides,
      };
      return signBundle(payload, { kid: key.kid, privateKey: key.privateKey });
    },
  };
}

/** Flips one character of the JWS payload: the signature no longer verifies. */
export function tamper(jws: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const middle = Math.floor(payload.length / 2);
  const flipped = payload[middle] === 'A' ? 'B' : 'A';
  return `${header}.${payload.slice(0, middle)}${flipped}${payload.slice(middle + 1)}.${signature}`;
}

/** Grant claims around the FakeClock's default time: valid 09:55 to 10:30. */
export function grantClaims(overrides: Partial<GrantClaims> = {}): GrantClaims {
  return {
    format: 'stepgate.grant/v1',
    id: crypto.randomUUID(),
    subject: 'alice',
    kind: 'elevation',
    amr: ['otp'],
    authTime: '2026-11-23T09:58:00Z',
    approvals: [],
    actions: ['docs:*'],
    resources: ['secret/**'],
    issuedAt: '2026-11-23T09:58:00Z',
    expiresAt: '2026-11-23T10:30:00Z',
    ...overrides,
  };
}
