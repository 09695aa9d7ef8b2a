// Shifting DA and DT values by whole days, for the Retain Longitudinal Temporal Information with Modified Dates
// option. Calendar arithmetic is done in UTC so no local time zone or daylight-saving change can move a date.

const DAY_MS = 86_400_000;

function parseYmd(ymd: string): number | undefined {
  if (!/^\d{8}$/.test(ymd)) return undefined;
  const y = Number(ymd.slice(0, 4));
  const m = Number(ymd.slice(4, 6));
  const d = Number(ymd.slice(6, 8));
  const t = Date.UTC(y, m - 1, d);
  const back = new Date(t);
  // Date.UTC silently rolls 20230230 over to March; a value that does not round-trip is not a real date.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return undefined;
  return t;
}

function formatYmd(t: number): string {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) throw new RangeError('shifted date out of range');
  return `${String(y).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/**
 * Shifts a DA value ('YYYYMMDD'; the pre-1993 'YYYY.MM.DD' form is accepted and written back in the standard
 * form). Returns undefined for anything that is not one full calendar date (partial dates, ranges, garbage), so
 * the caller can fall back to removing it rather than keep a value it could not shift.
 */
export function shiftDate(value: string, days: number): string | undefined {
  const v = value.trim();
  const ymd = /^\d{4}\.\d{2}\.\d{2}$/.test(v) ? v.replace(/\./g, '') : v;
  const t = parseYmd(ymd);
  return t === undefined ? undefined : formatYmd(t + days * DAY_MS);
}

/**
 * Shifts the date part of a DT value ('YYYYMMDD[HH[MM[SS[.F{1,6}]]]][&ZZXX]'); time of day, fraction and UTC
 * offset are kept as they are. A DT with less than a full date (YYYY or YYYYMM) cannot be shifted by days.
 */
export function shiftDateTime(value: string, days: number): string | undefined {
  const v = value.trim();
  const m = /^(\d{8})(\d{0,6}(?:\.\d{1,6})?)([+-]\d{4})?$/.exec(v);
  if (!m) return undefined;
  const t = parseYmd(m[1]);
  return t === undefined ? undefined : `${formatYmd(t + days * DAY_MS)}${m[2]}${m[3] ?? ''}`;
}
