// Flags for images whose pixels may show identifying text, which no header de-identification can remove
// (PS3.15 E.1.1 "Clean Pixel Data" is out of scope here): the caller routes flagged instances to a person.

/** Burned In Annotation (0028,0301) says YES: the pixels carry identifying text. */
export const FLAG_BURNED_IN_ANNOTATION = 'burned-in-annotation';
/** Burned In Annotation is absent and the kind of image often has text burned in: someone should look. */
export const FLAG_REVIEW_BURNED_IN = 'review-burned-in';

// A plain prefix on purpose: besides Secondary Capture (1.1.7, 1.1.7.1-4) it also catches 1.1.77.x (visible
// light: endoscopy, photographs, slide scans) and 1.1.78.x/1.1.79.x (ophthalmic), which carry text and faces.
const SECONDARY_CAPTURE_SOP_CLASS_PREFIX = '1.2.840.10008.5.1.4.1.1.7';

export interface BurnedInEvidence {
  burnedInAnnotation?: string;
  modality?: string;
  sopClassUid?: string;
  imageType?: readonly string[];
}

/**
 * Ultrasound (text overlays drawn by the scanner), secondary capture (screenshots, scanned documents) and
 * anything marked SECONDARY in Image Type (derived screenshots, reformats with annotations) often have text in
 * the pixels, so when the modality does not say either way they are flagged for review.
 */
export function burnedInFlags(e: BurnedInEvidence): string[] {
  const declared = e.burnedInAnnotation?.trim().toUpperCase();
  if (declared === 'YES') return [FLAG_BURNED_IN_ANNOTATION];
  if (declared) return [];
  const risky =
    e.modality?.trim().toUpperCase() === 'US' ||
    (e.sopClassUid?.trim() ?? '').startsWith(SECONDARY_CAPTURE_SOP_CLASS_PREFIX) ||
    (e.imageType ?? []).some((v) => String(v).trim().toUpperCase() === 'SECONDARY');
  return risky ? [FLAG_REVIEW_BURNED_IN] : [];
}

/**
 * Which flagged images a project holds back from annotators and reviewers until a manager has looked at them:
 * 'declared' (Burned In Annotation YES), 'all' (also the kinds of image that often carry text), 'none'.
 */
export type BurnedInHold = 'declared' | 'all' | 'none';

/** The flags that hold an image under `hold`. */
export function heldFlags(hold: BurnedInHold): string[] {
  return hold === 'all' ? [FLAG_BURNED_IN_ANNOTATION, FLAG_REVIEW_BURNED_IN] : hold === 'declared' ? [FLAG_BURNED_IN_ANNOTATION] : [];
}

/** A manager's decision on a held image: 'clear' (no identifying text: annotate it) or 'exclude' (never shown). */
export type PrivacyDecision = 'clear' | 'exclude';

/** Is an image with these flags and this decision (if any) held from annotators and reviewers? */
export function isHeld(flags: readonly string[], decision: PrivacyDecision | null | undefined, hold: BurnedInHold): boolean {
  if (decision === 'clear') return false;
  if (decision === 'exclude') return true;
  const held = heldFlags(hold);
  return flags.some((f) => held.includes(f));
}

/**
 * The same test in SQL, for an instances row aliased `alias`, with the held flags as parameter `$n` (text[]): the
 * decision lives in the instance's attributes (`privacyReview.decision`).
 */
export function heldInstanceSql(alias: string, n: number): string {
  // Never NULL (an image without a decision compares NULL = 'exclude'): NOT of it must keep the images not held.
  const decision = `COALESCE(${alias}.attributes #>> '{privacyReview,decision}', '')`;
  return `(${decision} <> 'clear' AND (${decision} = 'exclude' OR COALESCE(${alias}.flags && $${n}::text[], false)))`;
}

/** SQL: the image waits for a manager's decision (flagged under the hold, flags in `$n`, and not decided yet). */
export function awaitingReviewSql(alias: string, n: number): string {
  return `(${alias}.attributes -> 'privacyReview' IS NULL AND COALESCE(${alias}.flags && $${n}::text[], false))`;
}

/** SQL: a manager excluded the image for good (never shown; its series goes on without it). */
export function excludedInstanceSql(alias: string): string {
  return `COALESCE(${alias}.attributes #>> '{privacyReview,decision}', '') = 'exclude'`;
}

/**
 * SQL: the jsonb geometry `geometry` of series `seriesId` (SQL expressions) with the ids of its excluded images as
 * `excluded` (sorted; absent when none): the series' volume has their slices blanked (zeros), so the rest of the
 * series can still be annotated with its geometry intact. NULL stays NULL (no geometry yet).
 */
export function withExcludedSql(geometry: string, seriesId: string): string {
  return `((${geometry}) - 'excluded') || (SELECT CASE WHEN count(*) > 0 THEN jsonb_build_object('excluded', jsonb_agg(x.id::text ORDER BY x.id::text)) ELSE '{}'::jsonb END
                                           FROM instances x WHERE x.series_id = ${seriesId} AND ${excludedInstanceSql('x')})`;
}
