// The manager's task list, page by page: each page is asked for after the last task shown (the API's `afterId`
// cursor), one row more than shown so the list knows whether there is a next page without a count query.

/** The tasks shown, the cursor of the next page (null at the end) and whether there is one. */
export interface TaskPages<T extends { id: string }> {
  rows: T[];
  afterId: string | null;
  more: boolean;
}

/** The query of a page: `pageSize` + 1 rows (to learn whether more follow) in `state` (all when empty) after `afterId`. */
export function taskPageQuery(pageSize: number, state: string, afterId: string | null): Record<string, string> {
  return { limit: String(pageSize + 1), ...(state ? { state } : {}), ...(afterId ? { afterId } : {}) };
}

/** The list with one more page: the first `pageSize` rows of `page` are added; a row beyond them means there is more. */
export function addTaskPage<T extends { id: string }>(shown: TaskPages<T> | null, page: T[], pageSize: number): TaskPages<T> {
  const rows = [...(shown?.rows ?? []), ...page.slice(0, pageSize)];
  const more = page.length > pageSize;
  return { rows, more, afterId: more && rows.length ? rows[rows.length - 1].id : null };
}

/** What the caption says: how many of how many tasks (in the state filtered on) are shown. */
export function taskCountText(shown: number, byState: { state: string; n: number }[] | null, state: string): string {
  const what = (n: number) => `${state ? `${state.replace(/_/g, ' ')} ` : ''}task${n === 1 ? '' : 's'}`;
  if (!byState) return `${shown} ${what(shown)} shown`;
  const total = byState.filter((s) => !state || s.state === state).reduce((a, s) => a + s.n, 0);
  if (shown >= total) return shown === 1 ? `The one ${what(1)}` : `All ${shown} ${what(shown)}`;
  return `${shown} of ${total} ${what(total)}`;
}

/** The state filter the page's address names (`?state=`): one of `states`, else '' (all states). */
export function stateFromSearch(search: string, states: readonly string[]): string {
  const state = new URLSearchParams(search).get('state') ?? '';
  return states.includes(state) ? state : '';
}

/** The address's query with the state filter set (removed when '' names all states), its other parameters kept. */
export function searchWithState(search: string, state: string): string {
  const q = new URLSearchParams(search);
  if (state) q.set('state', state);
  else q.delete('state');
  const s = q.toString();
  return s ? `?${s}` : '';
}
