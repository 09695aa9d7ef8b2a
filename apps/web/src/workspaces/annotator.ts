// Annotator workspace: the inbox with "Next task", and the task screen: viewer(s), mask tools, pre-label
// layer, classification questions, lease heartbeat, auto-saved drafts and submission.
import { AnnotationType, api, ApiError, InboxRead, LabelVersionInfo, Lease, ProtocolLabel, session, TaskDetail } from '../api';
import { announce, errorText, h, replace, statusLine } from '../dom';
import { navigate } from '../router';
import { inboxWhen } from '../inbox';
import { dialog, displayToolbar, installShortcuts, maskTools, readout, shortcutsTable } from '../viewer/controls';
import { SHAPE_KEYS, ShapeEditor, ShapeKind, shapeKinds, WebShape } from '../viewer/shapes';
import { questionForm, questionsOf } from './questions';
import { exposeForTests, openTaskImages, TaskImages } from './task-images';

const HEARTBEAT_MS = 30_000;
const AUTOSAVE_MS = 30_000;

/** Leases handed over from "Next task" to the task screen, so it opens without asking again. */
const leaseCache = new Map<string, Lease>();

/**
 * The server refused work on the read because the caller no longer holds it: not theirs (403), or a 409 saying why (the
 * lease lapsed and someone took it, a manager cancelled the task or gave the read to someone else, an image of the task
 * is held for a privacy review). Anything else (a 400: a mask for another grid, a label the protocol lacks) is about the work.
 */
export function leaseGone(e: unknown): e is ApiError {
  return e instanceof ApiError && (e.status === 403 || (e.status === 409 && /lease|cancelled|gave this|someone else|privacy review/i.test(e.message)));
}

export async function annotatorInbox({ projectId }: Record<string, string>, outlet: HTMLElement) {
  const status = statusLine();
  const nextBtn = h('button', { type: 'button', class: 'primary big', onclick: () => takeNext() }, 'Next task');
  const table = h('div', { class: 'inbox' });
  outlet.append(h('div', { class: 'page-head' }, h('h1', null, 'My tasks'), nextBtn), status, h('h2', null, 'Inbox'), table);

  async function takeNext() {
    nextBtn.disabled = true;
    status.show('Looking for the next task…');
    try {
      const lease = await api.nextTask(projectId);
      if (!lease) {
        status.show('No task is waiting for you right now. Try again later.', 'info');
        return;
      }
      leaseCache.set(lease.readId, lease);
      navigate(`/projects/${projectId}/annotate/${lease.taskId}/${lease.readId}`);
    } catch (e) {
      status.show(errorText(e), 'error');
    } finally {
      nextBtn.disabled = false;
    }
  }

  try {
    const reads = (await api.myReads(projectId)).filter((r) => r.kind === 'annotation');
    if (!reads.length) {
      table.append(h('p', { class: 'muted' }, 'Nothing yet. Press “Next task” to get one.'));
      return;
    }
    table.append(inboxTable(projectId, reads, takeNext));
  } catch (e) {
    status.show(errorText(e), 'error');
  }
}

function inboxTable(projectId: string, reads: InboxRead[], takeNext: () => void) {
  return h(
    'table',
    { class: 'data' },
    h('caption', { class: 'visually-hidden' }, 'Your reads in this project'),
    h('thead', null, h('tr', null, ...['Task', 'Modality', 'Your read', 'Round', 'Task state', 'When', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
    h(
      'tbody',
      null,
      ...reads.map((r) =>
        h(
          'tr',
          null,
          h('td', null, h('code', null, r.taskId.slice(0, 8))),
          h('td', null, r.modality),
          h('td', null, h('span', { class: `pill ${r.state}` }, r.state === 'open' && r.reworkComment ? 'rework waiting' : r.state)),
          h('td', null, String(r.round)),
          h('td', null, r.taskState),
          h('td', null, inboxWhen(r)),
          h(
            'td',
            null,
            r.state === 'leased'
              ? h('a', { class: 'button', href: `/projects/${projectId}/annotate/${r.taskId}/${r.readId}`, 'aria-label': `Continue task ${r.taskId.slice(0, 8)}` }, 'Continue')
              : r.state === 'open'
                ? h('button', { type: 'button', onclick: takeNext, 'aria-label': `Take task ${r.taskId.slice(0, 8)}` }, 'Take')
                : null,
          ),
        ),
      ),
    ),
  );
}

export async function annotatorWorkspace({ projectId, taskId, readId }: Record<string, string>, outlet: HTMLElement) {
  const started = performance.now();
  const status = statusLine();
  const leaseBanner = h('div', { class: 'banner', hidden: true, role: 'alert' });
  const header = h('div', { class: 'ws-head' });
  const viewerHost = h('div', { class: 'viewers', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading image…'));
  const displayBar = h('div');
  const readoutHost = h('div');
  const side = h('aside', { class: 'side', 'aria-label': 'Annotation panel' });
  outlet.append(h('div', { class: 'workspace annotator' }, header, leaseBanner, h('div', { class: 'ws-body' }, h('section', { class: 'stage', 'aria-label': 'Images' }, displayBar, viewerHost, readoutHost), side), status));

  let timers: number[] = [];
  let images: TaskImages | null = null;
  let removeShortcuts = () => undefined as void;
  let dirty = false;
  let leaseLost = false;
  let submitted = false;
  /** The draft this page's work started from (the server's, for this read), and whether another tab has moved past it. */
  let draftBase: string | null = null;
  let staleDraft = false;
  let leaseExpiresAt: Date | null = null;
  // Closing the tab or reloading with work not yet saved asks first (auto-save runs every 30 s; in-app navigation
  // saves on the way out, a reload lost the last strokes without a word).
  const beforeUnload = (e: BeforeUnloadEvent) => {
    if (!dirty || submitted || leaseLost || staleDraft) return;
    void saveDraft(true);
    e.preventDefault();
    e.returnValue = '';
  };
  window.addEventListener('beforeunload', beforeUnload);
  const cleanup = () => {
    window.removeEventListener('beforeunload', beforeUnload);
    timers.forEach((t) => window.clearInterval(t));
    timers = [];
    removeShortcuts();
    if (dirty && !submitted && !leaseLost && images) void saveDraft(true);
    shapes?.destroy();
    images?.viewers.forEach((v) => v.destroy());
    document.querySelectorAll('dialog.dialog').forEach((d) => d.remove());
  };

  let task: TaskDetail;
  let lease = leaseCache.get(readId);
  try {
    task = lease?.task ?? (await api.task(projectId, taskId));
  } catch (e) {
    status.show(errorText(e), 'error');
    return cleanup;
  }
  draftBase = task.reads.find((r) => r.id === readId)?.draftVersionId ?? null;
  const myRead = task.reads.find((r) => r.id === readId);
  if (!myRead || (myRead.state !== 'leased' && !lease)) {
    replace(viewerHost);
    status.show(myRead?.state === 'submitted' ? 'You already submitted this read.' : 'This read is not leased to you any more. Ask for the next task.', 'error');
    viewerHost.append(h('a', { class: 'button', href: `/projects/${projectId}/annotate` }, 'Back to my tasks'));
    return cleanup;
  }
  leaseExpiresAt = new Date(lease?.leaseExpiresAt ?? myRead.leaseExpiresAt ?? Date.now());
  const reworkComment = lease?.reworkComment ?? myRead.reworkComment;
  const protocol = task.protocol ?? { version: 0, labels: [] as ProtocolLabel[], annotationTypes: [{ kind: 'segmentation-3d' }] as AnnotationType[], instructions: '' };
  // View-group tasks (several views of one object) take answers per task, not one mask on one grid.
  const segmentation = protocol.annotationTypes.some((t) => t.kind.startsWith('segmentation')) && protocol.labels.length > 0 && task.kind !== 'view-group';
  // Boxes, points and polygons: on every image of the task, view groups included.
  const kinds = protocol.labels.length ? shapeKinds(protocol.annotationTypes) : [];
  let shapes: ShapeEditor | null = null;

  // ---- header ----------------------------------------------------------------------------------------------
  const leaseOut = h('span', { class: 'lease', 'aria-live': 'off' });
  const instructions = dialog('Instructions', h('div', { class: 'instructions' }, ...(protocol.instructions || 'No instructions were written for this protocol.').split(/\n{2,}/).map((p) => h('p', null, p))));
  const help = dialog('Keyboard shortcuts', shortcutsTable());
  const saveBtn = h('button', { type: 'button', onclick: () => saveDraft(false) }, 'Save draft');
  const submitBtn = h('button', { type: 'button', class: 'primary', onclick: () => submit() }, 'Submit');
  const releaseBtn = h('button', { type: 'button', title: 'Give this task back: it goes to another annotator, and you are not offered it again unless a manager assigns it to you', onclick: () => release() }, 'Release');
  const savedOut = h('span', { class: 'muted saved', 'aria-live': 'polite' });
  header.append(
    h('div', { class: 'ws-title' }, h('h1', null, `Task ${task.id.slice(0, 8)}`), h('span', { class: 'muted' }, `${task.modality} · ${task.kind} · round ${lease?.round ?? myRead.round} · protocol v${protocol.version}`), leaseOut),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => instructions.present() }, 'Instructions'), h('button', { type: 'button', 'aria-label': 'Keyboard shortcuts', onclick: () => help.present() }, 'Shortcuts ?'), savedOut, saveBtn, submitBtn, releaseBtn),
  );
  if (reworkComment) {
    header.after(h('div', { class: 'banner rework', role: 'note', 'aria-label': 'Reviewer comment' }, h('strong', null, 'Sent back for rework: '), h('span', { class: 'rework-comment' }, reworkComment)));
  }
  const showLease = () => {
    if (leaseLost || submitted || !leaseExpiresAt) return;
    const s = Math.max(0, Math.round((leaseExpiresAt.getTime() - Date.now()) / 1000));
    leaseOut.textContent = `Lease: ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} left`;
  };
  showLease();
  timers.push(window.setInterval(showLease, 1000));

  function loseLease(message: string) {
    leaseLost = true;
    leaseBanner.hidden = false;
    leaseBanner.textContent = `${message} `;
    leaseBanner.append(h('a', { href: `/projects/${projectId}/annotate` }, 'Back to my tasks'));
    leaseOut.textContent = 'Lease lost';
    saveBtn.disabled = submitBtn.disabled = releaseBtn.disabled = true;
    // The status line may still say what to do with the task (a rework's instructions): it is no longer to be done.
    status.show('This task is no longer yours to work on (see the message above).', 'error');
  }

  async function heartbeat() {
    if (leaseLost || submitted) return;
    try {
      const r = await api.heartbeat(projectId, readId);
      leaseExpiresAt = new Date(r.leaseExpiresAt);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 409 || e.status === 403 || e.status === 404)) loseLease(e.message);
      else status.show(`Could not renew the lease: ${errorText(e)}`, 'error');
    }
  }
  timers.push(window.setInterval(heartbeat, HEARTBEAT_MS));
  void heartbeat();

  // ---- questions (classification) -------------------------------------------------------------------------
  // The model's draft: a mask, or answers (a classification's choice, a detector's boxes) to start from.
  const modelDraft = [...task.labels].reverse().find((l) => l.kind === 'draft');
  let answers: Record<string, unknown> = {};
  const questions = questionsOf(protocol.annotationTypes);
  const questionsEl = h('section', { class: 'panel questions', 'aria-label': 'Questions' }, questions.length ? h('h2', null, 'Questions') : null);
  const form = questionForm(questions, 'q', () => readAnswers(), (q) => {
    const suggestion = modelSuggestion(modelDraft, q.question);
    return suggestion ? h('p', { class: 'muted small model-suggestion' }, suggestion) : null;
  });
  questionsEl.append(...form.fieldsets);
  function readAnswers() {
    answers = form.values();
    dirty = true;
  }
  function fillAnswers(from: Record<string, unknown> | null | undefined) {
    if (!from) return;
    form.fill(from);
    answers = form.values();
    dirty = false;
  }

  // ---- images ---------------------------------------------------------------------------------------------
  try {
    viewerHost.replaceChildren();
    images = await openTaskImages(projectId, task, viewerHost, started, { editable: segmentation });
  } catch (e) {
    viewerHost.setAttribute('aria-busy', 'false');
    status.show(errorText(e), 'error');
    return cleanup;
  }
  viewerHost.setAttribute('aria-busy', 'false');
  const { primary, viewers, metrics } = images;
  primary.setLabels(protocol.labels);
  displayBar.append(displayToolbar(viewers, task.modality));
  readoutHost.append(readout(primary, protocol.labels));
  const loadNote = h('p', { class: 'muted small' }, `Image ${primary.dims.join('×')} · ${(metrics.bytes / 1024).toFixed(0)} KB · first image in ${Math.round(metrics.firstImageMs)} ms`);

  // Starting mask: my draft of this round, else my last submitted read (rework), else the model's draft.
  const me = session.user?.id;
  const mine = task.labels.filter((l) => l.authorId !== null && l.authorId === me);
  // Versions come oldest first: the newest of my drafts and submissions is where I left off.
  const myLatest = [...mine].reverse().find((l) => l.kind === 'read' || l.kind === 'read-draft');
  const myDraft = myLatest?.kind === 'read-draft' ? myLatest : undefined;
  const myLastRead = myLatest?.kind === 'read' ? myLatest : undefined;
  const prelabel = modelDraft?.hasMask ? modelDraft : undefined;
  // A model's answers (classification, boxes) are where a first read starts, as its mask is.
  const modelAnswers = !myLatest && modelDraft && !modelDraft.hasMask && Object.keys(modelDraft.answers ?? {}).length ? modelDraft : undefined;
  const start = myLatest ?? prelabel ?? modelAnswers;
  const colors = new Map(protocol.labels.map((l) => [l.id, l.color]));
  let layersEl: HTMLElement | null = null;
  try {
    const startMask = segmentation && start?.hasMask ? await images.fetchMask(start.id) : null;
    if (startMask) primary.setMask(startMask);
    fillAnswers((myDraft ?? myLastRead ?? modelAnswers)?.answers);
    if (segmentation && prelabel?.hasMask) {
      // setMask copied the map into NiiVue's bitmap, so the overlay may keep the same array.
      primary.setOverlay('prelabel', start === prelabel && startMask ? startMask : await images.fetchMask(prelabel.id), colors, 0.5, false);
      layersEl = prelabelLayer(modelName(prelabel));
    }
  } catch (e) {
    status.show(`The saved mask could not be loaded: ${errorText(e)}`, 'error');
  }
  dirty = false;
  const startNote = h('p', { class: 'muted small' }, start ? `Started from ${start === prelabel ? 'the model’s pre-label draft' : start === modelAnswers ? `the suggestions of ${modelName(modelAnswers)}` : start === myDraft ? 'your saved draft' : 'your previous submission'}.` : segmentation ? 'Started from an empty mask.' : 'Started from scratch.');

  function prelabelLayer(model: string) {
    const show = h('input', { type: 'checkbox', onchange: () => primary.setOverlayVisible('prelabel', show.checked) });
    const opacity = h('input', { type: 'range', min: '0', max: '1', step: '0.05', value: '0.5', onInput: () => primary.setOverlayOpacity('prelabel', Number(opacity.value)) });
    return h('section', { class: 'panel layers', 'aria-label': 'Layers' }, h('h2', null, 'Pre-label'), h('p', { class: 'muted small' }, `Draft by ${model}.`), h('label', { class: 'inline check' }, show, 'Show pre-label overlay'), h('label', { class: 'slider' }, 'Pre-label opacity ', opacity));
  }

  let shapesEl: HTMLElement | null = null;
  if (kinds.length) {
    shapes = new ShapeEditor(kinds, protocol.labels, true);
    viewers.forEach((v, i) => shapes!.attach(v, task.series[i].id));
    shapes.setShapes(((myDraft ?? myLastRead ?? modelAnswers)?.answers?.shapes as WebShape[] | undefined) ?? []);
    shapes.onChange(() => (dirty = true));
    shapesEl = shapes.panel();
  }
  const tools = segmentation ? maskTools(primary, protocol.labels) : null;
  // The main tool first: the mask tools for segmentation protocols, the shapes for detection ones.
  side.append(...[tools, shapesEl, layersEl, questions.length ? questionsEl : null, h('section', { class: 'panel' }, startNote, loadNote)].filter((x): x is HTMLElement => Boolean(x)));
  tools?.sync();
  primary.onChange(() => (dirty = true));
  removeShortcuts = installShortcuts(viewers, {
    tools: tools ?? undefined,
    shapes,
    labels: protocol.labels,
    onSave: () => void saveDraft(false),
    onHelp: () => help.present(),
    onToggleMask: () => {
      const box = tools?.querySelector<HTMLInputElement>('.row input[type=checkbox]');
      if (box) {
        box.checked = !box.checked;
        primary.setDrawingVisible(box.checked);
      }
    },
  });
  exposeForTests({ viewer: primary, viewers, metrics, grid: images.grid, kind: 'annotation', shapes, timeline: { openedAt: started, readyAt: performance.now() } });
  const keyOf = (k: ShapeKind) => Object.entries(SHAPE_KEYS).find(([, kind]) => kind === k)![0].toUpperCase();
  const how = segmentation ? 'Paint with the brush (B)' : kinds.length ? `Mark the findings (${kinds.map((k) => `${k}: ${keyOf(k)}`).join(', ')})` : 'Answer the questions';
  status.show(reworkComment ? 'Rework: read the reviewer’s comment above, fix your read and submit again.' : `Ready. ${how} and submit when done.`);
  announce(`Task loaded in ${Math.round(metrics.firstImageMs)} milliseconds`);

  // ---- draft, submit, release -----------------------------------------------------------------------------
  function body() {
    // Shapes always go with the read, an empty list included: "nothing to mark" is an answer.
    const all = { ...answers, ...(shapes ? { shapes: shapes.forServer() } : {}) };
    return { ...(segmentation ? { mask: images!.maskForServer() } : {}), ...(Object.keys(all).length ? { answers: all } : {}) };
  }

  async function saveDraft(quiet: boolean) {
    if (leaseLost || submitted || staleDraft || !images) return;
    const b = body();
    if (!b.mask && !b.answers) return;
    try {
      dirty = false;
      // Conditional on the draft this page started from: another tab's newer draft is not overwritten by this one.
      draftBase = (await api.saveDraft(projectId, readId, b, draftBase)).versionId;
      savedOut.textContent = `Draft saved ${new Date().toLocaleTimeString()}`;
      if (!quiet) status.show('Draft saved.', 'ok');
    } catch (e) {
      dirty = true;
      // A refused mask (another grid, a label the protocol lacks) is the draft's problem, not the lease's.
      if (leaseGone(e)) loseLease(e.message);
      else if (e instanceof ApiError && e.status === 412) {
        // Saved from another tab or window since this page opened the read: stop here rather than overwrite it.
        staleDraft = true;
        submitBtn.disabled = saveBtn.disabled = true;
        status.show(`${e.message}.`, 'error');
        status.append(' ', h('a', { href: location.pathname }, 'Reload the task'));
      }
      else status.show(`The draft was not saved: ${errorText(e)}`, 'error');
    }
  }
  timers.push(window.setInterval(() => dirty && void saveDraft(true), AUTOSAVE_MS));

  let idempotencyKey = crypto.randomUUID();
  async function submit() {
    if (leaseLost || submitted) return;
    const missing = form.missing();
    if (missing.length) {
      status.show(`Answer every question before submitting: ${missing.join(', ')}.`, 'error');
      return;
    }
    if (staleDraft) return;
    submitBtn.disabled = saveBtn.disabled = true;
    status.show('Submitting…');
    try {
      // Another tab of the same read may have saved newer work since this page opened it: submitting this page's
      // copy would replace it without a word.
      // (A view refused, as when the lease went to someone else, is left to the submission, which says why.)
      const mine = await api.task(projectId, taskId).then((t) => t.reads.find((r) => r.id === readId), () => undefined);
      if (mine && (mine.draftVersionId ?? null) !== draftBase) {
        staleDraft = true;
        status.show('This read’s draft was saved from another tab or window after this one opened it: reload the task to continue from the newer draft (nothing was submitted).', 'error');
        status.append(' ', h('a', { href: location.pathname }, 'Reload the task'));
        return;
      }
      const res = await api.submit(projectId, readId, body(), idempotencyKey);
      submitted = true;
      dirty = false;
      releaseBtn.disabled = true;
      leaseOut.textContent = 'Submitted';
      status.show(`Submitted. The task is now “${res.taskState.replace(/_/g, ' ')}”.`, 'ok');
      announce('Read submitted');
      const next = h('button', {
        type: 'button',
        class: 'primary',
        onclick: async () => {
          const lease2 = await api.nextTask(projectId).catch((e) => (status.show(errorText(e), 'error'), undefined));
          if (lease2) {
            leaseCache.set(lease2.readId, lease2);
            navigate(`/projects/${projectId}/annotate/${lease2.taskId}/${lease2.readId}`);
          } else if (lease2 === undefined) status.show('No other task is waiting for you.', 'info');
        },
      }, 'Next task');
      status.append(' ', next, ' ', h('a', { href: `/projects/${projectId}/annotate` }, 'Back to my tasks'));
      next.focus();
    } catch (e) {
      submitBtn.disabled = saveBtn.disabled = false;
      if (leaseGone(e)) {
        loseLease(e.message);
        status.show('Not submitted: the lease on this task is gone (see the message above).', 'error');
      } else status.show(`Not submitted: ${errorText(e)}`, 'error');
      // A refused submission will not succeed with the same key and other content; a network error may retry it.
      if (e instanceof ApiError && e.status !== 0) idempotencyKey = crypto.randomUUID();
    }
  }

  async function release() {
    // Giving a task back is for good: the next annotator starts without this draft, and it is not offered again here.
    if (!window.confirm('Give this task back? It goes to another annotator, who starts without your draft, and you will not be offered it again unless a manager assigns it to you.')) return;
    try {
      await api.release(projectId, readId);
      dirty = false;
      submitted = true;
      navigate(`/projects/${projectId}/annotate`);
    } catch (e) {
      status.show(errorText(e), 'error');
    }
  }

  leaseCache.delete(readId);
  primary.canvas.focus();
  return cleanup;
}

const modelName = (v: LabelVersionInfo) => {
  const models = v.model?.models ?? (v.model ? [v.model] : []);
  return models.length ? models.map((m) => `${m.name} ${m.version}`).join(', ') : 'the model';
};

/** "Model (name version): bright 88 %, dark 12 %" for a question a classification model answered, else null. */
export function modelSuggestion(draft: LabelVersionInfo | undefined, question: string): string | null {
  type Answer = { question?: string; probabilities?: Record<string, number>; model?: string };
  const stats = draft?.stats as { classification?: Answer; classifications?: Answer[]; models?: { name: string; version: string }[] } | null | undefined;
  const all = [...(stats?.classification ? [stats.classification] : []), ...(stats?.classifications ?? [])];
  const c = all.find((x) => x.question?.toLowerCase() === question.toLowerCase());
  if (!draft || !c?.probabilities) return null;
  const ranked = Object.entries(c.probabilities).sort((a, b) => b[1] - a[1]);
  return `Model (${c.model ?? modelName(draft)}): ${ranked.map(([choice, p]) => `${choice} ${Math.round(p * 100)} %`).join(', ')}`;
}
