// Consistent UID replacement (Table E.1-1 action U).
//
// remapUid = "2.25." + the decimal value of the first 128 bits of HMAC-SHA256(secret, originalUid).
// - Deterministic within a deployment: the same original UID always maps to the same new one, so instances
//   uploaded later (another series of the study, a SEG referencing the images) join the study they belong to and
//   their references (Referenced SOP Instance UID, Frame of Reference UID...) still resolve.
// - Not reversible without the secret: HMAC is a keyed one-way function; knowing the scheme and the output does
//   not give the input, and without the key nobody can test guesses of original UIDs either.
// - 2.25 is the ISO/ITU arc for UUID-derived UIDs (PS3.5 B.2): a 128-bit integer under it is a valid, globally
//   unique UID without needing an organisational root, and at most 5 + 39 = 44 characters (limit 64).
import { createHmac } from 'node:crypto';

/** The DICOM root: UIDs under it name things the standard defines (SOP classes, transfer syntaxes...). */
export const DICOM_UID_ROOT = '1.2.840.10008.';

/** Standard-defined UIDs are never remapped: they identify classes and syntaxes, not patients or studies. */
export function isWellKnownUid(uid: string): boolean {
  return uid.startsWith(DICOM_UID_ROOT);
}

export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(uid);
}

/** Strips the padding a UI value may carry on the wire (trailing NUL, stray spaces). */
export function normalizeUid(uid: string): string {
  return uid.replace(/[\0\s]+$/g, '').trim();
}

export function remapUid(originalUid: string, secret: string): string {
  const digest = createHmac('sha256', secret).update(normalizeUid(originalUid), 'utf8').digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
}
