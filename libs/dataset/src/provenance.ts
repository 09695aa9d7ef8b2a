// The per-case provenance record every export carries (where the image came from, under which protocol, which
// model drafted it, who labelled and reviewed it, how well the readers agreed), and the pseudonymous user ids
// that stand in for people in it: an export leaves the deployment, so it must never name a user.
import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const MIN_SECRET_LENGTH = 16;
/** What {@link pseudonymousUserId} returns: 'U-' and 16 base32 characters. */
export const PSEUDONYMOUS_USER_ID = /^U-[A-Z2-7]{16}$/;

/**
 * 'U-' + 16 base32 characters (80 bits) of HMAC-SHA256(secret, 'user' NUL userId). Stable for a secret, so one
 * annotator has one id across every export of the deployment (their agreement can be studied), and not
 * reversible without the secret, even by someone who can list every username. 80 bits make collisions
 * irrelevant at any number of users.
 */
export function pseudonymousUserId(secret: string, userId: string): string {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`The pseudonymisation secret must be at least ${MIN_SECRET_LENGTH} characters: a short secret lets anyone with a list of usernames reverse the ids`);
  }
  if (typeof userId !== 'string' || userId === '') throw new RangeError('Cannot pseudonymise an empty user id');
  const digest = createHmac('sha256', secret).update(`user\0${userId}`, 'utf8').digest();
  let out = '';
  for (let i = 0; i < 10; i += 5) {
    // 5 bytes = 40 bits = 8 base32 characters
    let bits = 0n;
    for (let b = 0; b < 5; b++) bits = (bits << 8n) | BigInt(digest[i + b]);
    for (let c = 7; c >= 0; c--) out += BASE32[Number((bits >> BigInt(c * 5)) & 31n)];
  }
  return `U-${out}`;
}

export interface CaseProvenanceInput {
  caseId: string;
  /** De-identified UIDs of the source (after UID remapping): never the originals. */
  source: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUids?: readonly string[] };
  protocol: { id?: string; name?: string; version: string | number };
  /** The model whose draft the annotators started from, if any (with every model, when several drafted it). */
  draft?: { model: string; version: string; uncertainty?: number; models?: readonly { model: string; version: string }[] };
  /** Pseudonymous ids ({@link pseudonymousUserId}), never usernames. */
  annotators: readonly string[];
  reviewers?: readonly string[];
  adjudicator?: string;
  /** Agreement metrics by name, e.g. { meanDice: 0.91, hd95Mm: 2.4 }. */
  agreement?: Readonly<Record<string, number | undefined>>;
  mergeMethod?: string;
  reworkRounds?: number;
  split?: 'train' | 'validation' | 'test';
  timestamps?: {
    ingested?: Date | string;
    prelabelled?: Date | string;
    submitted?: Date | string;
    reviewed?: Date | string;
    approved?: Date | string;
    exported?: Date | string;
  };
}

export const CASE_PROVENANCE_SCHEMA = 'contour.case-provenance/1';

/** The manifest entry: the input with timestamps as ISO 8601 strings, undefined fields dropped, a schema tag. */
export interface CaseProvenance {
  schema: typeof CASE_PROVENANCE_SCHEMA;
  caseId: string;
  source: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUids?: string[] };
  protocol: { id?: string; name?: string; version: string | number };
  draft?: { model: string; version: string; uncertainty?: number; models?: { model: string; version: string }[] };
  annotators: string[];
  reviewers?: string[];
  adjudicator?: string;
  agreement?: Record<string, number>;
  mergeMethod?: string;
  reworkRounds?: number;
  split?: 'train' | 'validation' | 'test';
  timestamps?: Partial<Record<keyof NonNullable<CaseProvenanceInput['timestamps']>, string>>;
}

// DICOM UID: digit components separated by dots, at most 64 characters (PS3.5 §9.1).
const DICOM_UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

function assertUid(uid: string, what: string): void {
  if (typeof uid !== 'string' || uid.length > 64 || !DICOM_UID.test(uid)) throw new RangeError(`${what} "${String(uid)}" is not a DICOM UID (digits and dots, at most 64 characters)`);
}

function assertPseudonymous(ids: readonly string[], role: string): void {
  for (const id of ids) {
    if (typeof id !== 'string' || !PSEUDONYMOUS_USER_ID.test(id)) {
      // The check is the last line of defence against a username reaching an export archive.
      throw new RangeError(`${role} id "${String(id)}" is not pseudonymous; pass user ids through pseudonymousUserId() before building provenance`);
    }
  }
}

function isoTime(value: Date | string, what: string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`Timestamp ${what} "${String(value)}" is not a valid date`);
  return date.toISOString();
}

/** Recursively removes properties whose value is undefined (arrays keep their length). */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
    return out as T;
  }
  return value;
}

/** Builds and checks the provenance record of one exported case. */
export function caseProvenance(input: CaseProvenanceInput): CaseProvenance {
  if (typeof input.caseId !== 'string' || input.caseId === '') throw new RangeError('Case provenance needs a caseId');
  assertUid(input.source?.studyInstanceUid, 'Study Instance UID');
  assertUid(input.source?.seriesInstanceUid, 'Series Instance UID');
  for (const uid of input.source.sopInstanceUids ?? []) assertUid(uid, 'SOP Instance UID');
  if (input.protocol?.version === undefined || input.protocol.version === '') throw new RangeError(`Case "${input.caseId}": provenance needs the protocol version the labels were made under`);
  if (input.draft && (!input.draft.model || !input.draft.version)) throw new RangeError(`Case "${input.caseId}": a draft needs both the model and its version`);
  assertPseudonymous(input.annotators ?? [], 'Annotator');
  assertPseudonymous(input.reviewers ?? [], 'Reviewer');
  if (input.adjudicator !== undefined) assertPseudonymous([input.adjudicator], 'Adjudicator');
  for (const [name, value] of Object.entries(input.agreement ?? {})) {
    if (value !== undefined && !Number.isFinite(value)) throw new RangeError(`Case "${input.caseId}": agreement metric "${name}" is ${value}; expected a finite number`);
  }
  if (input.reworkRounds !== undefined && !(Number.isInteger(input.reworkRounds) && input.reworkRounds >= 0)) {
    throw new RangeError(`Case "${input.caseId}": reworkRounds must be a whole number >= 0, got ${input.reworkRounds}`);
  }
  const timestamps = input.timestamps
    ? Object.fromEntries(Object.entries(input.timestamps).filter(([, v]) => v !== undefined).map(([k, v]) => [k, isoTime(v!, k)]))
    : undefined;
  return withoutUndefined({
    schema: CASE_PROVENANCE_SCHEMA,
    caseId: input.caseId,
    source: { studyInstanceUid: input.source.studyInstanceUid, seriesInstanceUid: input.source.seriesInstanceUid, sopInstanceUids: input.source.sopInstanceUids ? [...input.source.sopInstanceUids] : undefined },
    protocol: { id: input.protocol.id, name: input.protocol.name, version: input.protocol.version },
    draft: input.draft ? { model: input.draft.model, version: input.draft.version, uncertainty: input.draft.uncertainty, models: input.draft.models?.map((m) => ({ model: m.model, version: m.version })) } : undefined,
    annotators: [...(input.annotators ?? [])],
    reviewers: input.reviewers ? [...input.reviewers] : undefined,
    adjudicator: input.adjudicator,
    agreement: input.agreement ? ({ ...input.agreement } as Record<string, number>) : undefined,
    mergeMethod: input.mergeMethod,
    reworkRounds: input.reworkRounds,
    split: input.split,
    timestamps: timestamps && Object.keys(timestamps).length > 0 ? timestamps : undefined,
  });
}
