// Manager dashboard: progress (tasks by state, throughput, time in state), quality (agreement distribution,
// per-annotator agreement and rejections), the task list with priority, assignment and decisions, project
// setup (protocol editor, members and skills, quality settings, split policy, pre-label models), data
// (uploads with progress bars, the privacy review of held images, quarantine), queue depths and the audit trail
// (workspaces/audit-log.ts).
import { api, PairMember, ProjectSettings, ProjectStats, ProtocolLabel, session, TaskRow } from '../api';
import { barChart, columnChart, progressBar } from '../charts';
import { announce, errorText, field, fmtDate, fmtNum, fmtSeconds, h, replace, statusLine, uid } from '../dom';
import { NumberSetting, parseAeTitle, parsePriority, parseSetting } from '../manager-inputs';
import { projectNavLinks, projectWorkspaces } from '../project-nav';
import { addTaskPage, searchWithState, stateFromSearch, taskCountText, taskPageQuery, TaskPages } from '../task-paging';
import { dialog } from '../viewer/controls';
import { auditTab } from './audit-log';
import { privacyReviewCard } from './privacy-review';

const STATE_COLORS: Record<string, string> = {
  created: '#94a3b8',
  prelabelling: '#a78bfa',
  ready: '#60a5fa',
  in_annotation: '#38bdf8',
  consensus: '#2dd4bf',
  adjudication: '#f472b6',
  review: '#facc15',
  rework: '#fb923c',
  escalated: '#f87171',
  approved: '#4ade80',
  failed: '#ef4444',
  cancelled: '#64748b',
};

type Tab = { id: string; title: string; render: (panel: HTMLElement) => Promise<void> | void };

export async function managerDashboard({ projectId }: Record<string, string>, outlet: HTMLElement) {
  const status = statusLine();
  let project: Awaited<ReturnType<typeof api.project>>;
  let myRoles: string[] | null;
  try {
    [project, myRoles] = await Promise.all([api.project(projectId), api.projects().then((list) => list.find((p) => p.id === projectId)?.myRoles ?? null)]);
  } catch (e) {
    outlet.append(h('h1', null, 'Project dashboard'), status);
    status.show(errorText(e), 'error');
    return;
  }
  // Every tab asks for what only the project's managers may see: one message instead of an error in each.
  const systemRoles = session.user?.roles ?? [];
  if (!projectWorkspaces(systemRoles, myRoles).includes('manage')) {
    const open = projectNavLinks(projectId, systemRoles, myRoles);
    outlet.append(
      h('h1', null, `${project.name} · dashboard`),
      h(
        'p',
        { class: 'status-line error not-manager', role: 'alert' },
        'Only the managers of this project see its dashboard. Ask one of them to give you the manager role in Setup → Members if you need it.',
      ),
      ...(open.length ? [h('p', null, 'You can open: ', ...open.flatMap(([href, text], i) => [i ? ', ' : '', h('a', { href }, text)]))] : []),
    );
    return;
  }
  const timers: number[] = [];
  const tabs: Tab[] = [
    { id: 'overview', title: 'Progress & quality', render: (p) => overview(projectId, p) },
    { id: 'tasks', title: 'Tasks', render: (p) => tasksTab(projectId, p) },
    { id: 'setup', title: 'Setup', render: (p) => setupTab(projectId, project.settings, p) },
    { id: 'data', title: 'Data', render: (p) => dataTab(projectId, p, timers) },
    { id: 'exports', title: 'Exports', render: (p) => exportsTab(projectId, p, timers) },
    { id: 'queues', title: 'Queues', render: (p) => queuesTab(p, timers) },
    { id: 'audit', title: 'Audit', render: (p) => auditTab(projectId, p) },
  ];
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Dashboard sections', class: 'tabs' });
  const panels = h('div');
  const buttons: HTMLButtonElement[] = [];
  const select = async (i: number, focus = false) => {
    timers.splice(0).forEach((t) => window.clearInterval(t));
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    if (focus) buttons[i].focus();
    const panel = h('div', { role: 'tabpanel', id: `panel-${tabs[i].id}`, 'aria-labelledby': `tab-${tabs[i].id}`, tabindex: '0', class: 'tab-panel' });
    // A large project's statistics take a second or two: say so until the tab has what it shows.
    const loading = h('p', { class: 'muted tab-loading', role: 'status' }, 'Loading…');
    panel.setAttribute('aria-busy', 'true');
    panel.append(loading);
    replace(panels, panel);
    try {
      await tabs[i].render(panel);
    } catch (e) {
      panel.append(h('p', { class: 'status-line error', role: 'alert' }, errorText(e)));
    } finally {
      loading.remove();
      panel.removeAttribute('aria-busy');
    }
    // The query stays: the Tasks tab keeps its state filter there.
    history.replaceState(null, '', `${location.pathname}${location.search}#${tabs[i].id}`);
  };
  tabs.forEach((t, i) => {
    const b = h('button', { type: 'button', role: 'tab', id: `tab-${t.id}`, 'aria-controls': `panel-${t.id}`, onclick: () => select(i) }, t.title);
    b.addEventListener('keydown', (e) => {
      const k = (e as KeyboardEvent).key;
      const next = k === 'ArrowRight' ? (i + 1) % tabs.length : k === 'ArrowLeft' ? (i - 1 + tabs.length) % tabs.length : k === 'Home' ? 0 : k === 'End' ? tabs.length - 1 : -1;
      if (next >= 0) {
        e.preventDefault();
        void select(next, true);
      }
    });
    buttons.push(b);
    tablist.append(b);
  });
  outlet.append(h('div', { class: 'page-head' }, h('h1', null, `${project.name} · dashboard`)), h('p', { class: 'muted' }, project.description || ''), status, tablist, panels);
  const initial = Math.max(0, tabs.findIndex((t) => `#${t.id}` === location.hash));
  await select(initial);
  return () => timers.forEach((t) => window.clearInterval(t));
}

// ---- progress and quality ------------------------------------------------------------------------------------

async function overview(projectId: string, panel: HTMLElement) {
  const s: ProjectStats = await api.stats(projectId);
  const total = s.byState.reduce((a, b) => a + b.n, 0);
  const approved = s.byState.find((x) => x.state === 'approved')?.n ?? 0;
  const rejectionRate = s.reviews.reviews ? s.reviews.rejected / s.reviews.reviews : null;
  panel.append(
    h(
      'div',
      { class: 'cards' },
      card('Tasks', String(total), 'tasks-total'),
      card('Approved', `${approved}`, 'tasks-approved'),
      card('Mean agreement', fmtNum(s.agreement.mean), 'agreement-mean'),
      card('Rejected reviews', rejectionRate === null ? '–' : `${s.reviews.rejected} / ${s.reviews.reviews}`, 'rejections'),
    ),
    h(
      'div',
      { class: 'chart-grid' },
      h('section', { 'aria-label': 'Progress' }, h('h2', null, 'Progress'), barChart('Tasks by state', s.byState.map((b) => ({ label: b.state.replace(/_/g, ' '), value: b.n, color: STATE_COLORS[b.state] })))),
      h('section', { 'aria-label': 'Throughput' }, h('h2', null, 'Throughput'), columnChart('Tasks approved per day', s.approvedPerDay.map((d) => ({ label: d.day.slice(5), value: d.approved })))),
      h(
        'section',
        { 'aria-label': 'Time in state' },
        h('h2', null, 'Time in each state'),
        barChart('Mean time in state (median in brackets)', s.timeInState.map((t) => ({ label: t.state.replace(/_/g, ' '), value: t.meanSeconds, text: `${fmtSeconds(t.meanSeconds)} (${fmtSeconds(t.medianSeconds)}) · ${t.visits}×`, color: STATE_COLORS[t.state] }))),
      ),
      h(
        'section',
        { 'aria-label': 'Agreement distribution' },
        h('h2', null, 'Agreement'),
        columnChart(
          'Tasks by agreement (each task\'s agreement: masks, shapes and answers; bins from 0.0 to 0.9)',
          Array.from({ length: 10 }, (_, i) => ({ label: (i / 10).toFixed(1), value: s.agreement.histogram.find((b) => b.bucket === i + 1)?.n ?? 0, color: i >= 8 ? '#4ade80' : i >= 6 ? '#facc15' : '#f87171' })),
        ),
      ),
    ),
    h('h2', null, 'Annotators'),
    s.annotators.length
      ? h(
          'table',
          { class: 'data annotators' },
          h('caption', { class: 'visually-hidden' }, 'Per-annotator agreement and rejection rates'),
          h('thead', null, h('tr', null, ...['Annotator', 'Reads', 'Rejected', 'Rejection rate', 'Mean Dice vs consensus', 'Shape agreement'].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
          h(
            'tbody',
            null,
            ...s.annotators.map((a) =>
              h('tr', null, h('th', { scope: 'row' }, a.username), h('td', null, String(a.reads)), h('td', null, String(a.rejected)), h('td', null, `${Math.round(a.rejectionRate * 100)}%`), h('td', null, fmtNum(a.meanDiceVsConsensus)), h('td', null, fmtNum(a.meanShapeAgreement))),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No reads submitted yet.'),
    readerPairs(s),
  );
}

/** Annotator against annotator: mean Dice, shape agreement and Cohen's kappa per question of each pair of readers. */
function readerPairs(s: ProjectStats) {
  const { pairs, classification } = s.agreement;
  const rows = new Map<string, { names: string; dice?: number; shapes?: number; kappa: string[] }>();
  const row = (a: PairMember, b: PairMember) => {
    const names = [a.username ?? a.userId, b.username ?? b.userId].sort().join(' · ');
    return rows.get(names) ?? rows.set(names, { names, kappa: [] }).get(names)!;
  };
  for (const p of pairs.dice) row(p.a, p.b).dice = p.meanDice;
  for (const p of pairs.shapes) row(p.a, p.b).shapes = p.meanAgreement;
  for (const p of pairs.classification) row(p.a, p.b).kappa.push(`${p.question}: κ ${fmtNum(p.kappa)} (${p.items})`);
  if (!rows.size) return h('p', { class: 'muted' }, 'No task has two reads yet.');
  return h(
    'section',
    { 'aria-label': 'Reader pairs' },
    h('h2', null, 'Reader pairs'),
    classification.length
      ? h('p', { class: 'fleiss' }, "Fleiss' kappa: ", classification.flatMap((q) => q.fleiss.map((f) => `${q.question} ${fmtNum(f.kappa)} (${f.items} tasks, ${f.raters} readers)`)).join('; '))
      : null,
    h(
      'table',
      { class: 'data reader-pairs' },
      h('caption', { class: 'visually-hidden' }, 'Agreement between each pair of annotators'),
      h('thead', null, h('tr', null, ...['Readers', 'Mean Dice', 'Shape agreement', "Cohen's kappa (tasks)"].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, ...[...rows.values()].map((r) => h('tr', null, h('th', { scope: 'row' }, r.names), h('td', null, fmtNum(r.dice ?? null)), h('td', null, fmtNum(r.shapes ?? null)), h('td', null, r.kappa.join('; ') || '–')))),
    ),
  );
}

function card(title: string, value: string, key: string) {
  return h('div', { class: 'card stat', dataset: { stat: key } }, h('span', { class: 'stat-title' }, title), h('strong', { class: 'stat-value' }, value));
}

// ---- tasks ---------------------------------------------------------------------------------------------------

/** Tasks shown at once; "Load more" adds the next page after the last one shown. */
const TASK_PAGE = 100;

async function tasksTab(projectId: string, panel: HTMLElement) {
  const status = statusLine();
  const filter = h('select', { 'aria-label': 'Filter by state', onchange: () => load() }, h('option', { value: '' }, 'All states'), ...Object.keys(STATE_COLORS).map((s) => h('option', { value: s }, s.replace(/_/g, ' '))));
  const host = h('div');
  const count = h('p', { class: 'muted task-count', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', onclick: () => loadMore() }, 'Load more');
  // The button is there only while there is a next page (a [hidden] button would still show: buttons are styled flex).
  const moreHost = h('div', { class: 'row' });
  panel.append(h('div', { class: 'row' }, h('h2', null, 'Tasks'), filter, h('button', { type: 'button', onclick: () => load() }, 'Refresh')), status, count, host, moreHost);
  const members = await api.members(projectId).catch(() => []);
  const annotators = members.filter((m) => m.roles.includes('annotator'));
  let shown: TaskPages<TaskRow> | null = null;
  // The filter of the list on screen: a later pick whose load failed leaves the list as it was, and its next page
  // must follow that list, not the pick.
  let shownState = '';
  let byState: ProjectStats['byState'] | null = null;
  let tbody: HTMLElement | null = null;
  // A page asked for under an older filter (or before a Refresh) is dropped when it arrives.
  let generation = 0;
  async function load() {
    const gen = ++generation;
    const state = filter.value;
    try {
      const [page, counts] = await Promise.all([api.taskPage(projectId, taskPageQuery(TASK_PAGE, state, null)), api.taskCounts(projectId).catch(() => null)]);
      if (gen !== generation) return;
      status.clear();
      shown = addTaskPage(null, page, TASK_PAGE);
      shownState = state;
      // The filter is in the address, so a reload or a shared link shows the same list.
      history.replaceState(null, '', `${location.pathname}${searchWithState(location.search, state)}${location.hash}`);
      byState = counts;
      tbody = h('tbody', null, ...shown.rows.flatMap((t) => taskRows(t)));
      replace(host, shown.rows.length ? table(tbody) : h('p', { class: 'muted' }, 'No tasks.'));
      showCount(state);
    } catch (e) {
      if (gen !== generation) return;
      status.show(errorText(e), 'error');
      // The list on screen stays, and so does the filter that names it.
      if (shown) filter.value = shownState;
    }
  }
  async function loadMore() {
    if (!shown?.afterId || !tbody) return;
    const gen = generation;
    const state = shownState;
    more.disabled = true;
    try {
      const page = await api.taskPage(projectId, taskPageQuery(TASK_PAGE, state, shown.afterId));
      if (gen !== generation) return;
      status.clear();
      const before = shown.rows.length;
      shown = addTaskPage(shown, page, TASK_PAGE);
      const added = shown.rows.slice(before).flatMap((t) => taskRows(t));
      tbody.append(...added);
      showCount(state);
      // The keyboard goes on where the new rows start.
      added[0]?.querySelector('button')?.focus();
    } catch (e) {
      status.show(errorText(e), 'error');
    } finally {
      more.disabled = false;
    }
  }
  function showCount(state: string) {
    count.textContent = taskCountText(shown?.rows.length ?? 0, byState, state);
    replace(moreHost, shown?.more ? more : null);
  }
  function table(body: HTMLElement) {
    return h(
      'table',
      { class: 'data tasks' },
      h('caption', { class: 'visually-hidden' }, 'Tasks of the project'),
      h('thead', null, h('tr', null, ...['Task', 'State', 'Modality', 'Reads', 'Agreement', 'Priority', 'Round', 'Rejections', 'Since', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
      body,
    );
  }
  function taskRows(t: TaskRow): HTMLElement[] {
    const detail = h('tr', { class: 'detail', hidden: true }, h('td', { colspan: '10' }));
    return [taskRow(t, detail), detail];
  }
  function taskRow(t: TaskRow, detail: HTMLElement): HTMLElement {
    const toggle = h('button', {
      type: 'button',
      'aria-expanded': 'false',
      'aria-label': `Manage task ${t.id.slice(0, 8)}`,
      onclick: async () => {
        const open = detail.hidden;
        detail.hidden = !open;
        toggle.setAttribute('aria-expanded', String(open));
        if (open) await fillDetail(t, detail.firstElementChild as HTMLElement);
      },
    }, 'Manage');
    return h(
      'tr',
      { dataset: { task: t.id, state: t.state } },
      h('td', null, h('code', null, t.id.slice(0, 8))),
      h(
        'td',
        null,
        h('span', { class: 'pill', style: `--pill:${STATE_COLORS[t.state] ?? '#94a3b8'}` }, t.state.replace(/_/g, ' ')),
        // Held tasks look ready but are offered to nobody: say why, and where to act (the Data tab's privacy review).
        t.privacyHeld ? h('span', { class: 'pill privacy-held', title: 'An image of this task waits for a privacy review (Data tab); nobody is offered it until it is cleared' }, 'privacy hold') : null,
        // A review nobody in the project may take (every reviewer annotated or adjudicated the task) says so here.
        t.state === 'review' && t.stateReason ? h('span', { class: 'pill no-reviewer', title: t.stateReason }, 'no reviewer') : null,
      ),
      h('td', null, t.modality),
      h('td', null, `${t.readsSubmitted}/${t.readsRequired}`),
      h('td', { class: 'agreement' }, fmtNum(t.agreement)),
      h('td', null, String(t.priority)),
      h('td', null, String(t.reworkRound)),
      h('td', null, String(t.rejectionCount)),
      h('td', null, fmtDate(t.stateChangedAt)),
      h('td', null, toggle),
    );
  }
  /** After a change: the task's row and its history again, with the detail kept open and `done` said in it. */
  async function reloadTask(t: TaskRow, cell: HTMLElement, done: string) {
    const hist = await api.history(projectId, t.id);
    const last = hist.transitions[hist.transitions.length - 1];
    Object.assign(t, { state: hist.task.state, rejectionCount: hist.task.rejectionCount, reworkRound: hist.task.reworkRound, ...(last ? { stateChangedAt: last.at } : {}) });
    const detail = cell.parentElement!;
    const row = detail.previousElementSibling!;
    const fresh = taskRow(t, detail);
    (fresh.querySelector('button[aria-expanded]') as HTMLElement).setAttribute('aria-expanded', 'true');
    row.replaceWith(fresh);
    // The button pressed is drawn again: the keyboard stays on it.
    const pressed = document.activeElement instanceof HTMLButtonElement && cell.contains(document.activeElement) ? document.activeElement.textContent : null;
    await fillDetail(t, cell, done);
    if (pressed) [...cell.querySelectorAll('button')].find((b) => b.textContent === pressed)?.focus();
  }
  async function fillDetail(t: TaskRow, cell: HTMLElement, done?: string) {
    const st = statusLine();
    const prio = h('input', { type: 'number', min: '-1000', max: '1000', value: String(t.priority), class: 'num' });
    const who = h('select', null, ...annotators.map((m) => h('option', { value: m.userId }, m.username)));
    // A failed task is retried (its reads merged again, or it starts again) or cancelled; an escalated one approved as
    // it is, reopened or cancelled; any other only cancelled (approving a ready task with no reads was offered, and
    // refused in the state machine's words).
    const decision =
      t.state === 'failed'
        ? h('select', null, h('option', { value: 'retry' }, 'Retry'), h('option', { value: 'cancel' }, 'Cancel'))
        : t.state === 'escalated'
          ? h('select', null, h('option', { value: 'approve' }, 'Approve as it is'), h('option', { value: 'reopen' }, 'Reopen for rework'), h('option', { value: 'cancel' }, 'Cancel'))
          : h('select', null, h('option', { value: 'cancel' }, 'Cancel'));
    const comment = h('input', { type: 'text', placeholder: 'Reason' });
    const historyList = h('ol', { class: 'history' });
    const act = (fn: () => Promise<unknown>, ok: string) => async () => {
      try {
        await fn();
      } catch (e) {
        st.show(errorText(e), 'error');
        return;
      }
      announce(ok);
      try {
        await reloadTask(t, cell, ok);
      } catch (e) {
        st.show(`${ok}, but the task could not be shown again: ${errorText(e)}`, 'error');
      }
    };
    const savePriority = async () => {
      const p = parsePriority(prio.value);
      if (!p.ok) {
        st.show(p.message, 'error');
        prio.focus();
        return;
      }
      await act(async () => {
        await api.setPriority(projectId, t.id, p.value);
        t.priority = p.value;
      }, 'Priority saved')();
    };
    replace(
      cell,
      h(
        'div',
        { class: 'task-detail' },
        h('div', { class: 'row' }, field('Priority', prio), h('button', { type: 'button', onclick: () => void savePriority() }, 'Save priority')),
        h('div', { class: 'row' }, field('Assign to', who), h('button', { type: 'button', disabled: !annotators.length, onclick: act(async () => { const r = await api.assign(projectId, who.value, [t.id]); if (r.skipped.length) throw new Error(r.skipped.map((s) => s.reason).join('; ')); }, 'Assigned') }, 'Assign')),
        h('div', { class: 'row' }, field('Decision', decision), field('Comment', comment), h('button', { type: 'button', onclick: act(() => api.decide(projectId, t.id, decision.value as 'approve', comment.value), 'Decision recorded') }, 'Apply')),
        st,
        h('h3', null, 'History'),
        historyList,
      ),
    );
    if (done) st.show(done, 'ok');
    if (t.state === 'prelabelling') {
      // Where the pre-label job stands in its queue, and when it should be done.
      const pre = await api.prelabelStatus(projectId, t.id).catch(() => null);
      if (pre) historyList.before(h('p', { class: 'prelabel-status' }, `Pre-label: ${pre.state}${pre.position ? `, position ${pre.position} in the queue` : ''}${pre.etaSeconds !== null && pre.etaSeconds !== undefined ? `, ready in about ${fmtSeconds(pre.etaSeconds)}` : ''}${pre.failedReason ? ` — ${pre.failedReason}` : ''}`));
    }
    try {
      const hist = await api.history(projectId, t.id);
      replace(historyList, ...hist.transitions.map((x) => h('li', null, `${fmtDate(x.at)} · ${x.from ?? '–'} → ${x.to} (${x.event}) by ${x.actor ?? 'system'}${x.reason ? `: ${x.reason}` : ''}`)));
    } catch (e) {
      historyList.append(h('li', null, errorText(e)));
    }
  }
  // A reload (or a link) opens the list filtered as the address says.
  filter.value = stateFromSearch(location.search, Object.keys(STATE_COLORS));
  await load();
}

// ---- setup ---------------------------------------------------------------------------------------------------

async function setupTab(projectId: string, settings: ProjectSettings, panel: HTMLElement) {
  const [protocols, members, users, models] = await Promise.all([api.protocols(projectId), api.members(projectId), api.users().catch(() => []), api.models().catch(() => [])]);
  panel.append(protocolEditor(projectId, protocols), membersEditor(projectId, members, users), settingsEditor(projectId, settings, models));
}

function protocolEditor(projectId: string, protocols: Awaited<ReturnType<typeof api.protocols>>) {
  const latest = protocols[0]?.definition;
  const st = statusLine();
  const labelRows = h('tbody');
  const questionRows = h('div', { class: 'questions-edit' });
  const addLabel = (l?: ProtocolLabel) => {
    const n = labelRows.children.length + 1;
    const id = h('input', { type: 'number', min: '1', max: '255', value: String(l?.id ?? n), class: 'num', 'aria-label': `Label ${n} value` });
    const name = h('input', { type: 'text', value: l?.name ?? '', 'aria-label': `Label ${n} name`, required: true });
    const color = h('input', { type: 'color', value: l?.color ?? '#ff0000', 'aria-label': `Label ${n} colour` });
    const row = h('tr', { class: 'label-edit' }, h('td', null, id), h('td', null, name), h('td', null, color), h('td', null, h('button', { type: 'button', 'aria-label': `Remove label ${n}`, onclick: () => row.remove() }, 'Remove')));
    // A label's coded concepts (for DICOM SEG) have no fields here; they are kept as they were.
    if (l?.code || l?.category) row.dataset.coded = JSON.stringify({ code: l.code, category: l.category });
    labelRows.append(row);
  };
  const addQuestion = (q?: { question: string; choices: string[]; multiple?: boolean; required?: boolean }) => {
    const n = questionRows.children.length + 1;
    const question = h('input', { type: 'text', value: q?.question ?? '', 'aria-label': `Question ${n}` });
    const choices = h('input', { type: 'text', value: q?.choices.join(', ') ?? '', 'aria-label': `Question ${n} choices, separated by commas` });
    const multiple = h('input', { type: 'checkbox', checked: q?.multiple ?? false, 'aria-label': `Question ${n}: several answers` });
    const required = h('input', { type: 'checkbox', checked: q?.required ?? true, 'aria-label': `Question ${n}: an answer is required` });
    const row = h(
      'div',
      { class: 'row question-edit' },
      question,
      choices,
      h('label', { class: 'inline check' }, multiple, 'Several answers'),
      h('label', { class: 'inline check' }, required, 'Required'),
      h('button', { type: 'button', 'aria-label': `Remove question ${n}`, onclick: () => row.remove() }, 'Remove'),
    );
    questionRows.append(row);
  };
  (latest?.labels ?? []).forEach((l) => addLabel(l));
  (latest?.annotationTypes ?? []).forEach((t) => t.kind === 'classification' && addQuestion(t));
  // Every annotation type the protocol can ask for, ticked as the current version has them (a new protocol: 3D masks).
  const KINDS = [
    ['segmentation-3d', '3D segmentation masks'],
    ['segmentation-2d', '2D segmentation masks'],
    ['bounding-box', 'Boxes'],
    ['polygon', 'Polygons'],
    ['point', 'Points'],
  ] as const;
  const kindBoxes = KINDS.map(([kind, text]) => ({
    kind,
    box: h('input', { type: 'checkbox', checked: latest ? latest.annotationTypes.some((t) => t.kind === kind) : kind === 'segmentation-3d' }),
    text,
  }));
  const instructions = h('textarea', { rows: 4 }, latest?.instructions ?? '');
  const save = async () => {
    const labels = [...labelRows.querySelectorAll('tr')].map((r) => {
      const [id, name, color] = [...r.querySelectorAll('input')] as HTMLInputElement[];
      const coded = (r as HTMLElement).dataset.coded;
      return { id: Number(id.value), name: name.value.trim(), color: color.value, ...(coded ? (JSON.parse(coded) as Pick<ProtocolLabel, 'code' | 'category'>) : {}) };
    });
    const questions = [...questionRows.querySelectorAll('.question-edit')].map((r) => {
      const [q, c, m, req] = [...r.querySelectorAll('input')] as HTMLInputElement[];
      return { kind: 'classification' as const, question: q.value.trim(), choices: c.value.split(',').map((x) => x.trim()).filter(Boolean), multiple: m.checked, required: req.checked };
    });
    const kinds = kindBoxes.filter((k) => k.box.checked).map((k) => ({ kind: k.kind }));
    try {
      // What this editor does not show (the modalities and body parts it applies to) is kept from the current version.
      const res = await api.createProtocol(projectId, { labels, annotationTypes: [...kinds, ...questions], instructions: instructions.value, ...(latest?.appliesTo ? { appliesTo: latest.appliesTo } : {}) });
      st.show(`Saved as protocol version ${res.version}. New tasks use it.`, 'ok');
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  };
  return h(
    'section',
    { class: 'card setup', 'aria-label': 'Protocol' },
    h('h2', null, `Protocol${protocols[0] ? ` (current: version ${protocols[0].version})` : ''}`),
    h('table', { class: 'data compact' }, h('caption', null, 'Labels'), h('thead', null, h('tr', null, ...['Value', 'Name', 'Colour', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))), labelRows),
    h('button', { type: 'button', onclick: () => addLabel() }, 'Add label'),
    h('fieldset', { class: 'kinds' }, h('legend', null, 'Annotation types'), ...kindBoxes.map((k) => h('label', { class: 'inline check' }, k.box, k.text))),
    h('h3', null, 'Classification questions'),
    questionRows,
    h('button', { type: 'button', onclick: () => addQuestion() }, 'Add question'),
    field('Instructions for annotators', instructions),
    h('button', { type: 'button', class: 'primary', onclick: save }, 'Save as new version'),
    st,
  );
}

function membersEditor(projectId: string, members: Awaited<ReturnType<typeof api.members>>, users: Awaited<ReturnType<typeof api.users>>, done?: string): HTMLElement {
  const st = statusLine();
  // After each change the list is drawn again from the server, with what was done said under it.
  const change = async (fn: () => Promise<unknown>, ok: string) => {
    try {
      await fn();
    } catch (e) {
      st.show(errorText(e), 'error');
      return;
    }
    announce(ok);
    try {
      const fresh = membersEditor(projectId, await api.members(projectId), users, ok);
      section.replaceWith(fresh);
      fresh.querySelector('h2')?.focus();
    } catch (e) {
      st.show(`${ok} The list could not be shown again: ${errorText(e)}`, 'error');
    }
  };
  const ROLES = ['manager', 'annotator', 'reviewer'];
  const rows = members.map((m) => {
    const boxes = ROLES.map((r) => h('input', { type: 'checkbox', checked: m.roles.includes(r), 'aria-label': `${m.username} is ${r}` }));
    // The project's own skills are edited here; the account's (every project) are shown beside them, not saved here.
    const skills = h('input', { type: 'text', value: (m.skills ?? []).join(', '), 'aria-label': `${m.username} skills in this project` });
    return h(
      'tr',
      null,
      h('th', { scope: 'row' }, m.username),
      ...boxes.map((b) => h('td', null, b)),
      h('td', null, skills, m.accountSkills?.length ? h('span', { class: 'muted small' }, ` + account: ${m.accountSkills.join(', ')}`) : null),
      h(
        'td',
        null,
        h('button', { type: 'button', 'aria-label': `Save ${m.username}`, onclick: () => change(() => api.setMember(projectId, m.userId, ROLES.filter((_, i) => boxes[i].checked), splitList(skills.value)), `Saved ${m.username}.`) }, 'Save'),
        h('button', { type: 'button', 'aria-label': `Remove ${m.username}`, onclick: () => change(() => api.removeMember(projectId, m.userId), `Removed ${m.username}.`) }, 'Remove'),
      ),
    );
  });
  const candidates = users.filter((u) => !members.some((m) => m.userId === u.id));
  const who = h('select', null, ...candidates.map((u) => h('option', { value: u.id }, `${u.username} (${u.roles.join(', ')})`)));
  const newRoles = ROLES.map((r) => h('input', { type: 'checkbox', checked: r === 'annotator' }));
  const newSkills = h('input', { type: 'text', placeholder: 'e.g. neuro-mr, body-ct' });
  const section = h(
    'section',
    { class: 'card setup', 'aria-label': 'Members' },
    h('h2', { tabindex: '-1' }, 'Members and skills'),
    h('table', { class: 'data compact' }, h('caption', { class: 'visually-hidden' }, 'Members'), h('thead', null, h('tr', null, ...['Member', ...ROLES, 'Skills', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))), h('tbody', null, ...rows)),
    candidates.length
      ? h(
          'div',
          { class: 'row add-member' },
          field('Add', who),
          h('fieldset', { class: 'inline-fieldset' }, h('legend', null, 'Roles'), ...ROLES.map((r, i) => h('label', { class: 'inline check' }, newRoles[i], r))),
          field('Skills', newSkills),
          h('button', {
            type: 'button',
            onclick: () => {
              const name = candidates.find((u) => u.id === who.value)?.username ?? 'the member';
              return change(() => api.setMember(projectId, who.value, ROLES.filter((_, i) => newRoles[i].checked), splitList(newSkills.value)), `Added ${name}.`);
            },
          }, 'Add member'),
        )
      : null,
    st,
  );
  if (done) st.show(done, 'ok');
  return section;
}

const fmtBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1048576).toFixed(1)} MB`);

const splitList = (s: string) => s.split(/[,\s]+/).map((x) => x.trim().toLowerCase()).filter(Boolean);

function settingsEditor(projectId: string, s: ProjectSettings, models: Awaited<ReturnType<typeof api.models>>) {
  const st = statusLine();
  const q = s.quality;
  const reads = h('input', { type: 'number', min: '1', max: '5', value: String(q.reads), class: 'num' });
  const threshold = h('input', { type: 'number', min: '0', max: '1', step: '0.01', value: String(q.agreementThreshold), class: 'num' });
  const merge = h('select', null, ...['majority', 'staple'].map((m) => h('option', { value: m, selected: q.mergeMethod === m }, m === 'staple' ? 'STAPLE' : 'Majority vote')));
  const review = h('input', { type: 'checkbox', checked: q.reviewRequired });
  const rework = h('input', { type: 'number', min: '0', max: '20', value: String(q.maxReworkRounds), class: 'num' });
  const leaseMin = h('input', { type: 'number', min: '1', max: '10080', value: String(Math.round(q.leaseSeconds / 60)), class: 'num' });
  const policy = h('select', null, ...(['series', 'image', 'frames', 'view-group'] as const).map((p) => h('option', { value: p, selected: s.split.policy === p }, p)));
  const frames = h('input', { type: 'number', min: '1', max: '10000', value: String(s.split.framesPerTask), class: 'num' });
  const skills = h('input', { type: 'text', value: Object.entries(s.requiredSkills).map(([m, k]) => `${m}: ${k.join(' ')}`).join('; ') });
  const modalities = h('input', { type: 'text', value: s.expectedModalities.join(', ') });
  const modelBoxes = models.map((m) => ({ id: m.id, box: h('input', { type: 'checkbox', checked: s.prelabelModels.includes(m.id) }), m }));
  const DEID: [string, string][] = [
    ['retainLongitudinalTemporal', 'Keep dates (shifted consistently)'],
    ['retainPatientCharacteristics', 'Keep age, sex, size and weight'],
    ['retainDeviceIdentity', 'Keep device and station identity'],
    ['cleanDescriptors', 'Clean free-text descriptions'],
    ['keepSafePrivateTags', 'Keep private tags known to be safe'],
  ];
  const deidBoxes = DEID.map(([key, text]) => ({ key, text, box: h('input', { type: 'checkbox', checked: Boolean(s.deid?.[key]) }) }));
  const HOLDS: [string, string][] = [
    ['declared', 'Images that declare burned-in annotation'],
    ['all', 'Those, and ultrasound, secondary capture and derived images that do not say'],
    ['none', 'None'],
  ];
  const burnedInHold = h('select', null, ...HOLDS.map(([v, text]) => h('option', { value: v, selected: (s.deid?.burnedInHold ?? 'all') === v }, text)));
  // What each number field holds: an empty field is refused with its name and range (Number('') is 0, and 0 is a
  // valid threshold: it was saved), and the lease is checked in the minutes it is typed in.
  const number = (input: HTMLInputElement, setting: NumberSetting) => {
    const r = parseSetting(input.value, setting);
    if (!r.ok) {
      input.focus();
      throw new Error(r.message);
    }
    return r.value;
  };
  const save = async () => {
    try {
      const quality = {
        reads: number(reads, { name: 'the independent reads per task', min: 1, max: 5, whole: true }),
        agreementThreshold: number(threshold, { name: 'the agreement threshold', min: 0, max: 1, whole: false }),
        maxReworkRounds: number(rework, { name: 'the rework rounds before escalation', min: 0, max: 20, whole: true }),
        leaseSeconds: number(leaseMin, { name: 'the lease length', min: 1, max: 10080, whole: true, unit: 'minutes' }) * 60,
      };
      const framesPerTask = number(frames, { name: 'the frames per task', min: 1, max: 10000, whole: true });
      const requiredSkills: Record<string, string[]> = {};
      for (const part of skills.value.split(';').map((x) => x.trim()).filter(Boolean)) {
        const [mod, rest] = part.split(':');
        if (!rest) throw new Error(`Write required skills as "CT: body-ct; MR: neuro-mr" (got "${part}")`);
        requiredSkills[mod.trim().toUpperCase() || '*'] = splitList(rest);
      }
      await api.updateProject(projectId, {
        settings: {
          quality: { ...quality, mergeMethod: merge.value as 'staple', reviewRequired: review.checked },
          split: { policy: policy.value as 'series', framesPerTask },
          requiredSkills,
          expectedModalities: modalities.value.split(/[,\s]+/).map((x) => x.trim().toUpperCase()).filter(Boolean),
          prelabelModels: modelBoxes.filter((m) => m.box.checked).map((m) => m.id),
          // The whole deid object is replaced: what this form has no field for is sent back as it was.
          deid: { ...s.deid, ...Object.fromEntries(deidBoxes.map((d) => [d.key, d.box.checked])), burnedInHold: burnedInHold.value as 'declared' },
        },
      });
      st.show('Settings saved.', 'ok');
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  };
  return h(
    'section',
    { class: 'card setup', 'aria-label': 'Quality and routing settings' },
    h('h2', null, 'Quality, split and models'),
    h(
      'div',
      { class: 'form-grid' },
      field('Independent reads per task', reads, 'Tasks split from now on; tasks already split keep their number'),
      field('Agreement threshold', threshold, 'Mean Dice (or answer agreement) needed to skip adjudication'),
      field('Merge method', merge),
      field('Rework rounds before escalation', rework),
      field('Lease length (minutes)', leaseMin),
      field('Split policy', policy),
      field('Frames per task (frames policy)', frames),
      field('Required skills', skills, 'By modality, e.g. "CT: body-ct; MR: neuro-mr"'),
      field('Expected modalities', modalities, 'Anything else is quarantined; empty accepts all'),
    ),
    h('label', { class: 'inline check' }, review, 'Review required after consensus'),
    h(
      'fieldset',
      null,
      h('legend', null, 'De-identification of new uploads (DICOM PS3.15 options)'),
      ...deidBoxes.map((d) => h('label', { class: 'choice' }, d.box, d.text)),
      field('Hold for a privacy review', burnedInHold, 'Images whose pixels may show identifying text wait in the Data tab until a manager clears or excludes them'),
    ),
    h('fieldset', null, h('legend', null, 'Pre-label models'), ...(modelBoxes.length ? modelBoxes.map(({ box, m }) => h('label', { class: 'choice' }, box, `${m.name} ${m.version}${m.builtin ? ' (built in)' : ''}`)) : [h('p', { class: 'muted' }, 'No models registered.')])),
    h('button', { type: 'button', class: 'primary', onclick: save }, 'Save settings'),
    st,
  );
}

// ---- data ------------------------------------------------------------------------------------------------------

async function dataTab(projectId: string, panel: HTMLElement, timers: number[]) {
  const st = statusLine();
  const fileId = uid('files');
  const files = h('input', { type: 'file', id: fileId, multiple: true });
  const sendBar = h('div');
  const sendButton = h('button', { type: 'button', class: 'primary', onclick: () => void upload() }, 'Upload');
  const batchesEl = h('div', { class: 'batches' });
  const quarantineEl = h('div');
  const upload = async () => {
    const list = [...(files.files ?? [])];
    if (!list.length) return st.show('Choose one or more files (DICOM, zip or NIfTI) first.', 'error');
    // One send at a time: a second click while the files go would send them again.
    if (sendButton.disabled) return;
    sendButton.disabled = true;
    const bar = progressBar('Sending', 0, 1, '0%');
    replace(sendBar, bar);
    const prog = bar.querySelector('progress')!;
    const text = bar.querySelector('.small')!;
    try {
      const res = await api.upload(projectId, list, (sent, total) => {
        prog.max = Math.max(1, total);
        prog.value = sent;
        text.textContent = total ? `${Math.round((100 * sent) / total)}% of ${fmtBytes(total)}` : fmtBytes(sent);
      });
      files.value = '';
      st.show(`Received ${res.files} file(s); processing…`, 'ok');
      watching = res.batchId;
      await refreshBatches();
    } catch (e) {
      st.show(errorText(e), 'error');
    } finally {
      sendButton.disabled = false;
    }
  };
  // The upload sent from this page: its status line follows it until it is processed (it said "processing…" for good).
  let watching: string | null = null;
  async function refreshBatches() {
    const batches = (await api.uploads(projectId)).slice(0, 10);
    const progress = await Promise.all(batches.map((b) => api.uploadProgress(projectId, b.id).catch(() => null)));
    const mine = progress.find((p) => p?.batchId === watching);
    if (mine?.done) {
      watching = null;
      const quarantined = mine.counts.quarantined ?? 0;
      st.show(
        `Processed ${mine.total} file(s): stored ${mine.counts.stored ?? 0}, duplicate ${mine.counts.duplicate ?? 0}, quarantined ${quarantined}${quarantined ? ' (their reasons are under Quarantine)' : ''}.`,
        quarantined ? 'info' : 'ok',
      );
    }
    replace(
      batchesEl,
      ...(progress.length
        ? progress.filter((p): p is NonNullable<typeof p> => Boolean(p)).map((p) => {
            const finished = (p.counts.stored ?? 0) + (p.counts.duplicate ?? 0) + (p.counts.quarantined ?? 0);
            return h(
              'div',
              { class: 'batch', dataset: { batch: p.batchId, done: String(p.done) } },
              progressBar(`${p.label || 'Upload'} · ${fmtDate(p.createdAt)}`, finished, p.total, `${finished}/${p.total} · stored ${p.counts.stored ?? 0}, duplicate ${p.counts.duplicate ?? 0}, quarantined ${p.counts.quarantined ?? 0}${p.error ? ` · import failed: ${p.error}` : p.done ? ' · done' : p.importState ? ` · retrieving from the PACS (${p.importState})` : ''}`),
            );
          })
        : [h('p', { class: 'muted' }, 'No uploads yet.')]),
    );
  }
  const sourcesEl = sourcesCard(projectId, st, () => refreshBatches());
  const privacy = privacyReviewCard(projectId);
  const studiesEl = h('div');
  async function refreshStudies() {
    const studies = await api.studies(projectId);
    replace(
      studiesEl,
      studies.length
        ? h(
            'table',
            { class: 'data compact studies' },
            h('caption', { class: 'visually-hidden' }, 'Studies (de-identified)'),
            h('thead', null, h('tr', null, ...['Patient (pseudonym)', 'Study date', 'Description', 'Series', 'Images', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
            h(
              'tbody',
              null,
              ...studies.map((st) =>
                h(
                  'tr',
                  null,
                  h('td', null, st.patientPseudonym),
                  h('td', null, st.studyDate ?? '–'),
                  h('td', null, st.description || '–'),
                  h('td', null, String(st.seriesCount)),
                  h('td', null, String(st.instanceCount)),
                  h('td', null, h('button', { type: 'button', class: 'small', 'aria-label': `De-identification report of the study of ${st.patientPseudonym}`, onclick: () => void showDeidReport(st.id, st.patientPseudonym) }, 'De-identification report')),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No studies yet.'),
    );
  }
  async function showDeidReport(studyId: string, patient: string) {
    try {
      const r = await api.deidReport(projectId, studyId);
      const body = h(
        'div',
        { class: 'deid-report' },
        h('p', null, r.rows ? `${r.profile ?? 'Basic profile'} (${r.edition ?? ''}) · ${r.instanceCount ?? 0} image(s)` : 'The report is summed a few seconds after the last image of a series arrives; try again shortly.'),
        r.options ? h('p', { class: 'muted small' }, `Options: ${Object.entries(r.options).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none'}`) : null,
        r.rows
          ? h(
              'table',
              { class: 'data compact' },
              h('caption', { class: 'visually-hidden' }, 'Attributes and what de-identification did to them'),
              h('thead', null, h('tr', null, ...['Attribute', 'Tag', 'Action', 'Images', 'Why'].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', null, ...r.rows.map((row) => h('tr', null, h('th', { scope: 'row' }, row.keyword || row.tag), h('td', null, h('code', null, row.tag)), h('td', null, row.action), h('td', null, String(row.instances)), h('td', null, row.reasons.join('; '))))),
            )
          : null,
      );
      dialog(`De-identification report · ${patient}`, body).present();
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  }
  const quarantineStatus = statusLine();
  // Files sent back through the pipeline: a reason the manager acted on (a modality added, a setting changed) is
  // checked again. One request per file, in turn.
  // While files are being sent, the list (redrawn every 2 s) offers no button: a second click would send them twice.
  let reprocessing = false;
  async function reprocess(list: { id: string; fileName: string }[]) {
    if (reprocessing) return;
    reprocessing = true;
    let sent = 0;
    try {
      for (const item of list) {
        try {
          await api.reprocessQuarantined(projectId, item.id);
          sent++;
        } catch (e) {
          quarantineStatus.show(`${item.fileName}: ${errorText(e)}${sent ? ` (${sent} other file(s) sent)` : ''}`, 'error');
          return;
        }
      }
      quarantineStatus.show(list.length === 1 ? `Sent ${list[0].fileName} to be processed again.` : `Sent ${sent} files to be processed again.`, 'ok');
    } finally {
      reprocessing = false;
      await refreshQuarantine().catch(() => undefined);
    }
  }
  async function refreshQuarantine() {
    const { total, items } = await api.quarantine(projectId);
    // `label`, when given, names the button to a screen reader beginning with its visible text.
    const action = (label: string | null, name: string, onclick: () => Promise<void>) => {
      const b = h('button', { type: 'button', class: 'small', ...(label ? { 'aria-label': label } : {}), disabled: reprocessing, onclick: async () => {
        b.disabled = true;
        await onclick();
      } }, name) as HTMLButtonElement;
      return b;
    };
    replace(
      quarantineEl,
      items.length
        ? h(
            'div',
            null,
            h('div', { class: 'row' }, action(null, `Re-process all ${items.length} listed`, () => reprocess(items))),
            h(
              'table',
              { class: 'data compact quarantine' },
              // The newest page only: say so when there are more.
              h('caption', total > items.length ? null : { class: 'visually-hidden' }, total > items.length ? `The newest ${items.length} of ${total} quarantined files` : 'Quarantined files'),
              h('thead', null, h('tr', null, ...['File', 'Reason', 'Size', 'When', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
              h(
                'tbody',
                null,
                ...items.map((i) =>
                  h('tr', null, h('td', null, i.fileName), h('td', null, i.reason), h('td', null, fmtBytes(Number(i.sizeBytes))), h('td', null, fmtDate(i.updatedAt)), h('td', null, action(`Re-process ${i.fileName}`, 'Re-process', () => reprocess([i])))),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Nothing is quarantined.'),
    );
  }
  panel.append(
    h('section', { class: 'card', 'aria-label': 'Upload' }, h('h2', null, 'Upload studies'), h('div', { class: 'row' }, h('label', { for: fileId }, 'Files to upload'), files, sendButton), sendBar, st),
    sourcesEl,
    h('section', { class: 'card', 'aria-label': 'Recent uploads' }, h('h2', null, 'Recent uploads and imports'), batchesEl),
    privacy.el,
    h('section', { class: 'card', 'aria-label': 'Studies' }, h('h2', null, 'Studies'), studiesEl),
    h('section', { class: 'card', 'aria-label': 'Quarantine' }, h('h2', null, 'Quarantine'), h('p', { class: 'muted small' }, 'Once what a reason asks for is done (a modality added to the project, say), send the files through again.'), quarantineStatus, quarantineEl),
  );
  await Promise.all([refreshBatches(), refreshQuarantine(), refreshStudies(), privacy.load()]);
  timers.push(window.setInterval(() => void refreshStudies().catch(() => undefined), 10_000));
  timers.push(window.setInterval(() => void Promise.all([refreshBatches(), refreshQuarantine(), privacy.refresh()]).catch(() => undefined), 2000));
}

// ---- sources -----------------------------------------------------------------------------------------------------

/**
 * Where studies come from besides uploads: DICOMweb PACS the project imports from (search by QIDO-RS, import the
 * chosen studies by WADO-RS as one batch with progress) and calling AE titles whose C-STORE goes to this project.
 */
function sourcesCard(projectId: string, st: ReturnType<typeof statusLine>, onImported: () => Promise<void>): HTMLElement {
  const list = h('div', { class: 'sources' });
  const results = h('div', { class: 'source-results' });
  const name = h('input', { type: 'text', id: uid('src-name'), placeholder: 'e.g. Hospital PACS' });
  const url = h('input', { type: 'url', id: uid('src-url'), placeholder: 'http://pacs:8042/dicom-web' });
  const authType = h('select', { 'aria-label': 'Authentication', onchange: () => syncAuth() }, ...[['none', 'None'], ['basic', 'User name and password'], ['bearer', 'Bearer token']].map(([v, l]) => h('option', { value: v }, l)));
  const user = h('input', { type: 'text', 'aria-label': 'PACS user name', placeholder: 'user name', hidden: true });
  const password = h('input', { type: 'password', 'aria-label': 'PACS password', placeholder: 'password', hidden: true, autocomplete: 'off' });
  const token = h('input', { type: 'password', 'aria-label': 'PACS bearer token', placeholder: 'token', hidden: true, autocomplete: 'off' });
  const syncAuth = () => {
    user.hidden = password.hidden = authType.value !== 'basic';
    token.hidden = authType.value !== 'bearer';
  };
  const ae = h('input', { type: 'text', 'aria-label': 'Calling AE title', placeholder: 'e.g. CT_SCANNER_1', maxlength: '16' });
  const aeList = h('ul', { class: 'plain ae-routes' });

  async function refresh() {
    const [sources, routes] = await Promise.all([api.sources(projectId), api.aeRoutes(projectId)]);
    replace(
      list,
      sources.length
        ? h(
            'ul',
            { class: 'plain' },
            ...sources.map((src) => {
              const q = { PatientID: h('input', { type: 'text', 'aria-label': `Patient ID to search in ${src.name}`, placeholder: 'Patient ID' }), StudyDate: h('input', { type: 'text', 'aria-label': `Study date or range to search in ${src.name}`, placeholder: 'YYYYMMDD or range' }), ModalitiesInStudy: h('input', { type: 'text', 'aria-label': `Modality to search in ${src.name}`, placeholder: 'CT, MR…', class: 'num' }) };
              return h(
                'li',
                { class: 'source', dataset: { source: src.id } },
                h('strong', null, src.name),
                ' ',
                h('code', { class: 'small' }, src.url),
                h('span', { class: 'muted small' }, ` · auth: ${src.authType}`),
                h(
                  'div',
                  { class: 'row' },
                  q.PatientID,
                  q.StudyDate,
                  q.ModalitiesInStudy,
                  h('button', { type: 'button', 'aria-label': `Search ${src.name}`, onclick: () => void search(src.id, src.name, Object.fromEntries(Object.entries(q).filter(([, i]) => i.value.trim()).map(([k, i]) => [k, i.value.trim()]))) }, 'Search'),
                  h('button', { type: 'button', class: 'danger', 'aria-label': `Remove source ${src.name}`, onclick: () => void remove(src.id) }, 'Remove'),
                ),
              );
            }),
          )
        : h('p', { class: 'muted' }, 'No PACS connected.'),
    );
    replace(aeList, ...routes.map((r) => h('li', null, h('code', null, r.callingAeTitle), ' ', h('button', { type: 'button', class: 'small', 'aria-label': `Stop routing ${r.callingAeTitle}`, onclick: () => void dropAe(r.callingAeTitle) }, 'Remove'))));
  }
  async function search(sourceId: string, sourceName: string, query: Record<string, string>) {
    replace(results, h('p', { class: 'muted' }, `Searching ${sourceName}…`));
    try {
      const studies = await api.searchSource(projectId, sourceId, { ...query, limit: '200' });
      const boxes = studies.map((s) => ({ s, box: h('input', { type: 'checkbox', checked: true, 'aria-label': `Import study ${s.studyDescription || s.studyInstanceUid} of ${s.studyDate ?? 'unknown date'}` }) }));
      replace(
        results,
        h('h3', null, `${studies.length} stud${studies.length === 1 ? 'y' : 'ies'} in ${sourceName}`),
        studies.length
          ? h(
              'table',
              { class: 'data compact' },
              h('caption', { class: 'visually-hidden' }, `Studies found in ${sourceName}`),
              h('thead', null, h('tr', null, ...['Import', 'Date', 'Description', 'Modalities', 'Images'].map((c) => h('th', { scope: 'col' }, c)))),
              h('tbody', null, ...boxes.map(({ s, box }) => h('tr', null, h('td', null, box), h('td', null, s.studyDate ?? '–'), h('td', null, s.studyDescription || '–'), h('td', null, s.modalities.join(', ') || '–'), h('td', null, s.instances === null ? '–' : String(s.instances))))),
            )
          : null,
        studies.length
          ? h('button', {
              type: 'button',
              class: 'primary',
              onclick: async () => {
                const uids = boxes.filter((b) => b.box.checked).map((b) => b.s.studyInstanceUid);
                if (!uids.length) return st.show('Tick at least one study to import.', 'error');
                try {
                  await api.importStudies(projectId, sourceId, uids);
                  st.show(`Importing ${uids.length} stud${uids.length === 1 ? 'y' : 'ies'} from ${sourceName}: progress under "Recent uploads and imports".`, 'ok');
                  replace(results);
                  await onImported();
                } catch (e) {
                  st.show(errorText(e), 'error');
                }
              },
            }, 'Import selected studies')
          : null,
      );
    } catch (e) {
      replace(results);
      st.show(errorText(e), 'error');
    }
  }
  /** Runs a change, then shows the lists again; a refusal is shown in the status line. */
  async function change(fn: () => Promise<unknown>) {
    try {
      await fn();
      await refresh();
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  }
  const remove = (sourceId: string) => change(() => api.deleteSource(projectId, sourceId));
  const dropAe = (title: string) => change(() => api.deleteAeRoute(projectId, title));
  const add = async () => {
    const auth = authType.value === 'basic' ? { type: 'basic' as const, username: user.value, password: password.value } : authType.value === 'bearer' ? { type: 'bearer' as const, token: token.value } : { type: 'none' as const };
    try {
      await api.addSource(projectId, { name: name.value.trim(), url: url.value.trim(), auth });
      name.value = url.value = user.value = password.value = token.value = '';
      st.show('PACS connected. Search it to choose studies to import.', 'ok');
      await refresh();
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  };
  const addAe = () => {
    const title = parseAeTitle(ae.value);
    if (!title.ok) {
      st.show(title.message, 'error');
      ae.focus();
      return;
    }
    return change(async () => {
      await api.setAeRoute(projectId, title.value);
      ae.value = '';
    });
  };
  void refresh().catch((e) => st.show(errorText(e), 'error'));
  return h(
    'section',
    { class: 'card', 'aria-label': 'Sources' },
    h('h2', null, 'Sources'),
    h('h3', null, 'DICOMweb PACS'),
    list,
    results,
    h('div', { class: 'row' }, h('label', { for: name.id }, 'Name'), name, h('label', { for: url.id }, 'DICOMweb URL'), url, authType, user, password, token, h('button', { type: 'button', onclick: () => void add() }, 'Connect PACS')),
    h('h3', null, 'DICOM C-STORE'),
    h('p', { class: 'muted small' }, 'Images that these calling AE titles send to Contour’s storage service (C-STORE; its AE title is DICOM_AE_TITLE, CONTOUR by default) come to this project.'),
    aeList,
    h('div', { class: 'row' }, ae, h('button', { type: 'button', onclick: () => void addAe() }, 'Route AE title here')),
  );
}

// ---- exports ---------------------------------------------------------------------------------------------------

const FORMATS: [string, string][] = [
  ['nnunet', 'nnU-Net v2 (NIfTI image + label)'],
  ['dicom-seg', 'DICOM SEG'],
  ['rtstruct', 'DICOM RTSTRUCT'],
  ['coco', 'COCO (2D: PNG + annotations.json)'],
];
const STRATA: [string, string][] = [
  ['sex', 'Sex'],
  ['ageBand', 'Age band'],
  ['site', 'Site'],
  ['manufacturer', 'Scanner maker'],
  ['labelPresence', 'Labels present'],
];

/** Start a dataset export (formats, label version, patient-level split), follow it, download it, read its balance report. */
async function exportsTab(projectId: string, panel: HTMLElement, timers: number[]) {
  const st = statusLine();
  const name = h('input', { type: 'text', id: uid('export-name'), placeholder: 'e.g. v1 for the first training run' });
  const formats = FORMATS.map(([value, label]) => ({ value, box: h('input', { type: 'checkbox', checked: value !== 'rtstruct' }), label }));
  const versionName = uid('version');
  const finalVersion = h('input', { type: 'radio', name: versionName, value: 'final', checked: true });
  const readsVersion = h('input', { type: 'radio', name: versionName, value: 'reads' });
  const fraction = (label: string, value: number) => h('input', { type: 'number', min: '0', max: '1', step: '0.05', value: String(value), class: 'num', 'aria-label': `${label} fraction` });
  const train = fraction('Training', 0.7);
  const validation = fraction('Validation', 0.1);
  const test = fraction('Test', 0.2);
  const seed = h('input', { type: 'text', value: '42', class: 'num', 'aria-label': 'Split seed' });
  const strata = STRATA.map(([value, label]) => ({ value, box: h('input', { type: 'checkbox', checked: value === 'sex' }), label }));
  const list = h('div', { class: 'exports' });
  const start = async () => {
    const chosen = formats.filter((f) => f.box.checked).map((f) => f.value);
    if (!chosen.length) return st.show('Choose at least one format.', 'error');
    const fractions = { train: Number(train.value), validation: Number(validation.value), test: Number(test.value) };
    if (Math.abs(fractions.train + fractions.validation + fractions.test - 1) > 1e-6) return st.show('The training, validation and test fractions must add up to 1.', 'error');
    try {
      await api.createExport(projectId, {
        name: name.value.trim() || undefined,
        options: { formats: chosen, labelVersion: readsVersion.checked ? 'reads' : 'final', split: { fractions, seed: /^\d+$/.test(seed.value) ? Number(seed.value) : seed.value, stratifyBy: strata.filter((x) => x.box.checked).map((x) => x.value) } },
      });
      st.show('Export started; it appears below with its progress.', 'ok');
      await refresh();
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  };
  async function download(id: string, file: string) {
    try {
      const blob = await api.exportArchive(projectId, id);
      const a = h('a', { href: URL.createObjectURL(blob), download: `${file.replace(/[^\w.-]+/g, '_')}.zip` });
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  }
  async function showBalance(id: string, title: string) {
    try {
      const html = await api.balanceReport(projectId, id);
      // The report is a page of its own: shown sandboxed (no scripts) inside the dialog.
      const frame = h('iframe', { class: 'balance-report', title: `Dataset balance report of ${title}`, sandbox: '' }) as HTMLIFrameElement;
      frame.srcdoc = html;
      dialog(`Dataset balance · ${title}`, frame).present();
    } catch (e) {
      st.show(errorText(e), 'error');
    }
  }
  // A finished export does not change: its summary is fetched once.
  const finished = new Map<string, Promise<Awaited<ReturnType<typeof api.exportDetail>> | null>>();
  let shown = '';
  async function refresh() {
    const rows = (await api.exports(projectId)).slice(0, 20);
    // Re-render only when something changed: a rebuilt list would take the keyboard focus off its buttons.
    const key = JSON.stringify(rows.map((r) => [r.id, r.state, r.progress]));
    if (key === shown) return;
    const details = await Promise.all(
      rows.map((r) => {
        if (r.state !== 'done') return Promise.resolve(null);
        if (!finished.has(r.id)) finished.set(r.id, api.exportDetail(projectId, r.id).catch(() => (finished.delete(r.id), null)));
        return finished.get(r.id)!;
      }),
    );
    shown = details.some((d, i) => rows[i].state === 'done' && !d) ? '' : key;
    replace(
      list,
      ...(rows.length
        ? rows.map((r, i) => {
            const report = details[i]?.report;
            const warnings = report?.warnings ?? [];
            return h(
              'div',
              { class: 'export', dataset: { export: r.id, state: r.state } },
              progressBar(`${r.name} · ${fmtDate(r.createdAt)}`, r.progress, 100, `${r.state}${r.state === 'done' ? ` · ${fmtBytes(Number(r.sizeBytes ?? 0))}` : ` · ${r.progress}%`}`),
              r.error ? h('p', { class: 'status-line error', role: 'alert' }, r.error) : null,
              report ? h('p', { class: 'small' }, `${report.cases} case(s): ${Object.entries(report.splits ?? {}).map(([k, v]) => `${k} ${v.cases} (${v.patients} patient${v.patients === 1 ? '' : 's'})`).join(', ')}${warnings.length ? ` · ${warnings.length} balance warning(s)` : ''}`) : null,
              ...(report?.notices ?? []).map((n) => h('p', { class: 'muted small' }, n)),
              warnings.length ? h('ul', { class: 'plain small warnings' }, ...warnings.slice(0, 5).map((w) => h('li', null, w.message ?? `${w.attribute} = ${w.value}: ${w.kind}`))) : null,
              r.state === 'done'
                ? h(
                    'div',
                    { class: 'row' },
                    h('button', { type: 'button', 'aria-label': `Download zip of ${r.name}`, onclick: () => void download(r.id, r.name) }, 'Download zip'),
                    h('button', { type: 'button', 'aria-label': `Balance report of ${r.name}`, onclick: () => void showBalance(r.id, r.name) }, 'Balance report'),
                  )
                : null,
            );
          })
        : [h('p', { class: 'muted' }, 'No exports yet.')]),
    );
  }
  panel.append(
    h(
      'section',
      { class: 'card', 'aria-label': 'New export' },
      h('h2', null, 'New export'),
      h('p', { class: 'muted small' }, 'Approved tasks become cases; patients never cross splits; the archive holds the images, labels, provenance per case and the balance report.'),
      h('div', { class: 'row' }, h('label', { for: name.id }, 'Name'), name),
      h('fieldset', null, h('legend', null, 'Formats'), ...formats.map((f) => h('label', { class: 'choice' }, f.box, f.label))),
      h('fieldset', null, h('legend', null, 'Labels'), h('label', { class: 'choice' }, finalVersion, 'The final, approved label'), h('label', { class: 'choice' }, readsVersion, 'Every reader’s read (inter-reader studies)')),
      h('fieldset', null, h('legend', null, 'Split by patient'), h('div', { class: 'row' }, h('label', { class: 'inline' }, 'Training ', train), h('label', { class: 'inline' }, 'Validation ', validation), h('label', { class: 'inline' }, 'Test ', test), h('label', { class: 'inline' }, 'Seed ', seed)), h('p', { class: 'small' }, 'Stratify by:'), ...strata.map((x) => h('label', { class: 'choice' }, x.box, x.label))),
      h('button', { type: 'button', class: 'primary', onclick: () => void start() }, 'Start export'),
      st,
    ),
    h('section', { class: 'card', 'aria-label': 'Exports' }, h('h2', null, 'Exports'), list),
  );
  await refresh();
  timers.push(window.setInterval(() => void refresh().catch(() => undefined), 2000));
}

// ---- queues ----------------------------------------------------------------------------------------------------

async function queuesTab(panel: HTMLElement, timers: number[]) {
  const host = h('div');
  panel.append(h('h2', null, 'Queues'), host);
  const load = async () => {
    const health = await api.health();
    const queues = Object.entries(health.queues.detail ?? {});
    replace(
      host,
      h('p', null, `System: ${health.status} · PostgreSQL ${health.postgres.ok ? 'ok' : 'down'} · Redis ${health.redis.ok ? 'ok' : 'down'}`),
      // Ready to run (waiting or prioritised); delayed jobs (retries after a back-off, scheduled work) are their own column.
      barChart('Jobs waiting to run per queue', queues.map(([name, q]) => ({ label: name, value: (q.counts.waiting ?? 0) + (q.counts.prioritized ?? 0) }))),
      h(
        'table',
        { class: 'data compact queues' },
        h('caption', { class: 'visually-hidden' }, 'Queue depths'),
        h('thead', null, h('tr', null, ...['Queue', 'Waiting', 'Prioritised', 'Active', 'Delayed', 'Failed', 'Workers'].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
        h('tbody', null, ...queues.map(([name, q]) => h('tr', null, h('th', { scope: 'row' }, name), ...['waiting', 'prioritized', 'active', 'delayed', 'failed'].map((k) => h('td', null, String(q.counts[k] ?? 0))), h('td', null, String(q.workers))))),
      ),
    );
  };
  await load();
  timers.push(window.setInterval(() => void load().catch(() => undefined), 5000));
}
