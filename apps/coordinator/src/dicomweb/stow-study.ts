// STOW-RS to /studies/{study} (PS3.18 10.5.1.1): every instance stored must belong to the target study; one that
// does not is not stored and is answered in the Failed SOP Sequence.
//
// Contour serves a study under its de-identified Study Instance UID (remapUid of the source UID with the
// deployment secret, see @contour/deid uid-remap.ts), so a client can name the target study two ways, both
// accepted: by the UID it sends (a modality or PACS that knows the source UID), or by the de-identified UID it
// got from Contour's QIDO-RS (a viewer adding a SEG or a missing series to a study it browsed). The part's
// Study Instance UID as sent, before de-identification, is what is compared. Accepting the served UID opens no
// other study: it is an HMAC of the source UID, so no instance of another study maps to it.
import { normalizeUid, remapUid } from '@contour/deid';

/**
 * Failure Reason (0008,1197) for an instance of another study. PS3.18 Table I.2-2 defines no code of its own
 * for this; it is in the A9xx range ("Error: Data Set does not match SOP Class": the data set is not what the
 * target resource accepts) as implementations use it (0xA901 is Microsoft's DICOM service's code for exactly
 * this case); 409 is the HTTP status PS3.18 10.5.3 names for a Study Instance UID mismatch.
 */
export const STUDY_MISMATCH_FAILURE = 0xa901;

/** How a part's source Study Instance UID names the target: as sent ('source'), as served ('served'), or not. */
export function targetStudyMatch(sourceStudyUid: string | undefined | null, target: string, secret: string): 'source' | 'served' | null {
  const uid = sourceStudyUid ? normalizeUid(sourceStudyUid) : '';
  if (!uid) return null;
  if (uid === target) return 'source';
  return remapUid(uid, secret) === target ? 'served' : null;
}

/** The de-identified UID the target study is served under: the response's Retrieve URL names it. */
export function servedTargetStudy(target: string, matches: ('source' | 'served' | null)[], secret: string): string {
  return matches.includes('source') ? remapUid(target, secret) : target;
}
