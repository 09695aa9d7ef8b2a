// The manager dashboard's Audit tab: the project's audit trail (who did what, when, to which object), newest first,
// filtered by action, person or object id, with older lines a page at a time. Reads GET /projects/:id/audit.
import { api, AuditLine } from '../api';
import { AuditFilters, auditDetailsText, auditObjectText, auditPageQuery } from '../audit-view';
import { errorText, field, fmtDate, h, replace, statusLine, uid } from '../dom';
import { addTaskPage, TaskPages } from '../task-paging';

const PAGE = 50;

export async function auditTab(projectId: string, panel: HTMLElement) {
  const status = statusLine();
  const members = await api.members(projectId).catch(() => []);
  const actionsId = uid('audit-actions');
  const actions = h('datalist', { id: actionsId });
  const action = h('input', { type: 'text', list: actionsId, placeholder: 'e.g. task.approve', autocomplete: 'off' });
  const actor = h('select', null, h('option', { value: '' }, 'Anyone'), ...members.map((m) => h('option', { value: m.userId }, `${m.displayName} (${m.username})`)));
  const object = h('input', { type: 'text', placeholder: 'a task, read or image id', autocomplete: 'off' });
  const host = h('div');
  const moreHost = h('div', { class: 'row' });
  const more = h('button', { type: 'button', onclick: () => loadMore() }, 'Load older');
  const filters = (): AuditFilters => ({ action: action.value, actorId: actor.value, objectId: object.value });
  const form = h(
    'form',
    {
      class: 'row audit-filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void load();
      },
    },
    field('Action', action),
    field('Person', actor),
    field('Object id', object),
    h('button', { type: 'submit' }, 'Show'),
  );
  panel.append(h('h2', null, 'Audit trail'), h('p', { class: 'muted' }, 'Every state change and every read of patient data in this project, newest first.'), form, actions, status, host, moreHost);

  let shown: TaskPages<AuditLine> | null = null;
  let tbody: HTMLElement | null = null;
  /** The filters the list on screen was asked for with (older pages keep them, whatever the fields say now). */
  let shownFilters: AuditFilters = filters();
  // A page (or an error) of a request made before the latest Show is dropped when it arrives.
  let generation = 0;
  const seenActions = new Set<string>();

  async function load() {
    const gen = ++generation;
    const asked = filters();
    // No older page of the list being replaced while the new one loads.
    replace(moreHost, null);
    try {
      const page = await api.audit(projectId, auditPageQuery(PAGE, asked, null));
      if (gen !== generation) return;
      status.clear();
      shownFilters = asked;
      shown = addTaskPage(null, page, PAGE);
      tbody = h('tbody', null, ...shown.rows.map(row));
      replace(host, shown.rows.length ? table(tbody) : h('p', { class: 'muted' }, 'No audit lines match.'));
      after();
    } catch (e) {
      if (gen === generation) status.show(errorText(e), 'error');
    }
  }
  async function loadMore() {
    if (!shown?.afterId || !tbody) return;
    const gen = generation;
    more.disabled = true;
    try {
      const page = await api.audit(projectId, auditPageQuery(PAGE, shownFilters, shown.afterId));
      if (gen !== generation) return;
      const before = shown.rows.length;
      shown = addTaskPage(shown, page, PAGE);
      const added = shown.rows.slice(before).map(row);
      tbody.append(...added);
      after();
      // The keyboard goes on where the new lines start (the button is gone after the last page).
      if (added[0]) {
        added[0].tabIndex = -1;
        added[0].focus();
      }
    } catch (e) {
      if (gen === generation) status.show(errorText(e), 'error');
    } finally {
      more.disabled = false;
    }
  }
  /** The "Load older" button while there is more, and the actions seen so far as suggestions for the filter. */
  function after() {
    replace(moreHost, shown?.more ? more : null);
    for (const line of shown?.rows ?? []) {
      if (seenActions.has(line.action)) continue;
      seenActions.add(line.action);
      actions.append(h('option', { value: line.action }));
    }
  }
  function table(body: HTMLElement) {
    return h(
      'table',
      { class: 'data compact audit' },
      h('caption', { class: 'visually-hidden' }, 'Audit trail of the project, newest first'),
      h('thead', null, h('tr', null, ...['When', 'Who', 'Action', 'Object', 'Details'].map((c) => h('th', { scope: 'col' }, c)))),
      body,
    );
  }
  function row(line: AuditLine) {
    return h(
      'tr',
      null,
      h('td', null, h('time', { datetime: line.at, title: line.at }, fmtDate(line.at))),
      h('td', line.ip ? { title: `from ${line.ip}` } : null, line.actorName),
      h('td', null, h('code', null, line.action)),
      h('td', line.objectId ? { title: line.objectId } : null, auditObjectText(line.objectType, line.objectId)),
      h('td', { class: 'details' }, auditDetailsText(line.details)),
    );
  }
  await load();
}
