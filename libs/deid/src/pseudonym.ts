// The patient pseudonym and the per-patient date shift, both derived from the deployment secret so that every
// study of a patient gets the same pseudonym and the same shift (intervals between studies are preserved).
import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * 'CTR-' + 10 RFC 4648 base32 characters (50 bits) of HMAC-SHA256(secret, issuer + NUL + patientId).
 * The issuer is part of the key because a patient ID is only unique within its issuer: the same "12345" from
 * two hospitals is two patients. 50 bits keep collisions negligible for any realistic number of patients
 * (about 1 in 10^6 at 50 000 patients) while staying short enough to read out.
 */
export function patientPseudonym(secret: string, patientId: string, issuerOfPatientId = ''): string {
  const digest = createHmac('sha256', secret).update(`patient\0${issuerOfPatientId.trim()}\0${patientId.trim()}`, 'utf8').digest();
  let bits = BigInt(`0x${digest.subarray(0, 7).toString('hex')}`) >> 6n; // top 50 of 56 bits
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = BASE32[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return `CTR-${out}`;
}

export const MAX_DATE_SHIFT_DAYS = 3650;

/**
 * A whole number of days in [-3650, -1], from HMAC-SHA256(secret, 'date-shift' + NUL + pseudonym).
 * - Keyed by the pseudonym, so all studies of a patient move together and the intervals between them (and
 *   between every date inside a study) are preserved, which is what longitudinal research needs.
 * - Always negative: shifted dates never land in the future, and never equal the originals.
 * - Up to ten years: wide enough that a shifted date does not point at the real day, small enough that
 *   the season-of-year and era of the acquisition stay roughly plausible for equipment and protocol analysis.
 */
export function dateShiftDays(secret: string, pseudonym: string): number {
  const digest = createHmac('sha256', secret).update(`date-shift\0${pseudonym}`, 'utf8').digest();
  return -((digest.readUInt32BE(0) % MAX_DATE_SHIFT_DAYS) + 1);
}
