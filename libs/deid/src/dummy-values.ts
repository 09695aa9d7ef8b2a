// Dummy values for action D ("replace with a non-zero length value that may be a dummy value and consistent
// with the VR"): one fixed, obviously fake value per VR, so a reader can tell at a glance that it was replaced.

export const DUMMY_TEXT = 'ANONYMIZED';
export const DUMMY_DATE = '19000101';
export const DUMMY_DATETIME = '19000101000000';
export const DUMMY_TIME = '000000';

const BINARY_DUMMY_BYTES: Record<string, number> = { OB: 2, UN: 2, OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

/**
 * The dummy Value array for a VR (dcmjs tag-keyed form), or undefined for SQ and UI, which the caller handles
 * (a sequence keeps its items and has its free text replaced; a UID is remapped rather than faked).
 */
export function dummyValue(vr: string): unknown[] | undefined {
  switch (vr) {
    case 'SQ':
    case 'UI':
      return undefined;
    case 'DA':
      return [DUMMY_DATE];
    case 'DT':
      return [DUMMY_DATETIME];
    case 'TM':
      return [DUMMY_TIME];
    case 'AS':
      return ['000Y'];
    case 'PN':
      return [{ Alphabetic: DUMMY_TEXT }];
    case 'UR':
      // Must still parse as a URI; .invalid is reserved (RFC 6761) so it can never resolve.
      return ['http://anonymized.invalid/'];
    case 'DS':
    case 'IS':
    case 'FL':
    case 'FD':
    case 'SL':
    case 'SS':
    case 'UL':
    case 'US':
    case 'SV':
    case 'UV':
    case 'AT':
      return [0];
    default:
      if (vr in BINARY_DUMMY_BYTES) return [new ArrayBuffer(BINARY_DUMMY_BYTES[vr])];
      // AE, CS, LO, LT, SH, ST, UC, UT and anything unknown: plain text fits every string VR's length limit.
      return [DUMMY_TEXT];
  }
}
