// What the annotator's inbox says of each of their reads.
import { fmtDate } from './dom';

/** The inbox's "When": when a read was submitted, or until when the caller's lease on it runs (a time to come, said as such). */
export function inboxWhen(r: { state: string; leaseExpiresAt: string | null; submittedAt: string | null }): string {
  if (r.state === 'leased') return r.leaseExpiresAt ? `lease until ${fmtDate(r.leaseExpiresAt)}` : 'leased';
  return r.submittedAt ? fmtDate(r.submittedAt) : '–';
}
