// The project's audit trail as the manager dashboard shows it: newest first, filtered by action, person or object,
// each page asked for before the last line shown (the API's `beforeId` cursor; pages are added with addTaskPage).

/** What the audit tab can filter on; empty strings are no filter. */
export interface AuditFilters {
  action: string;
  actorId: string;
  objectId: string;
}

/** The query of a page, newest first: `pageSize` + 1 lines (to learn whether more follow) before `beforeId`. */
export function auditPageQuery(pageSize: number, filters: AuditFilters, beforeId: string | null): Record<string, string> {
  const query: Record<string, string> = { order: 'desc', limit: String(pageSize + 1) };
  for (const key of ['action', 'actorId', 'objectId'] as const) {
    const value = filters[key].trim();
    if (value) query[key] = value;
  }
  if (beforeId) query.beforeId = beforeId;
  return query;
}

const MAX_VALUE = 80;

/** A line's details in one line: `key: value` pairs in their order, nested values as JSON, long values cut. */
export function auditDetailsText(details: Record<string, unknown> | null | undefined): string {
  return Object.entries(details ?? {})
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}: ${text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text}`;
    })
    .join(' · ');
}

/** The object a line is about: its type and id ("task 3f2a…" keeps the first 8 characters of a UUID). */
export function auditObjectText(objectType: string, objectId: string | null): string {
  if (!objectId) return objectType;
  const id = /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(objectId) ? `${objectId.slice(0, 8)}…` : objectId;
  return `${objectType.replace(/_/g, ' ')} ${id}`;
}
