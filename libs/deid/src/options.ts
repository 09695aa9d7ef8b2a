// The choices a deployment makes when it de-identifies: which PS3.15 Annex E options apply, and the secret that
// makes pseudonyms, UIDs and date shifts reproducible within the deployment and unguessable outside it.

export interface DeidOptions {
  /** Retain Longitudinal Temporal Information with Modified Dates: dates shifted by a per-patient offset. */
  retainLongitudinalTemporal: boolean;
  /** Retain Patient Characteristics: sex, age, size, weight, ethnic group, smoking and pregnancy status... */
  retainPatientCharacteristics: boolean;
  /** Retain Device Identity: serial numbers, station names, device UIDs, detector and plate IDs... */
  retainDeviceIdentity: boolean;
  /** Clean Descriptors: keep study/series descriptions, protocol names... that pass the clean rule. */
  cleanDescriptors: boolean;
  /** Keep the private elements of the safe list (private-tags.ts); all other private elements go. */
  keepSafePrivateTags: boolean;
}

export const DEFAULT_DEID_OPTIONS: Readonly<DeidOptions> = Object.freeze({
  retainLongitudinalTemporal: false,
  retainPatientCharacteristics: false,
  retainDeviceIdentity: false,
  cleanDescriptors: false,
  keepSafePrivateTags: true,
});

export interface DeidContext {
  /**
   * The deployment's de-identification secret (at least 16 characters). Everything derived from it (pseudonyms,
   * UIDs, date shifts) is stable for as long as it is: rotating it splits every later upload from earlier ones.
   */
  secret: string;
}

export const MIN_SECRET_LENGTH = 16;

export function assertSecret(secret: string): void {
  // A short or empty secret makes every HMAC below a lookup table away from reversal (patient IDs and UIDs are
  // low-entropy and often guessable), so refuse it rather than produce a false sense of protection.
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The de-identification secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
}
