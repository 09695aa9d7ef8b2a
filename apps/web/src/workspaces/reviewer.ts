// Reviewer and adjudicator workspace: the reads overlaid (toggle per reader) or side by side in linked views,
// the merged result as the editable final mask, per-label agreement (Dice, IoU, HD95), disagreement regions
// to jump to, and the decision: approve, edit and approve, reject with a comment, or (adjudication) submit
// the final mask.
import { api, ApiError, ConsensusInfo, LabelVersionInfo, Lease, ProtocolLabel, TaskDetail } from '../api';
import { announce, errorText, fmtNum, h, statusLine, uid } from '../dom';
import { navigate } from '../router';
import { dialog, displayToolbar, installShortcuts, maskTools, readout, shortcutsTable } from '../viewer/controls';
import { describeShape, ShapeEditor, shapeKinds, WebShape } from '../viewer/shapes';
import { Viewer } from '../viewer/viewer';
import { answerText, questionForm, questionsOf } from './questions';
import { exposeForTests, openTaskImages, TaskImages } from './task-images';

const HEARTBEAT_MS = 30_000;
const READER_COLORS = ['#22d3ee', '#facc15', '#f472b6', '#a3e635', '#fb923c'];
const DISAGREE_COLOR = '#ff00ff';
const leaseCache = new Map<string, Lease>();

export async function reviewerQueue({ projectId }: Record<string, string>, outlet: HTMLElement) {
  const status = statusLine();
  const btn = h('button', {
    type: 'button',
    class: 'primary big',
    onclick: async () => {
      btn.disabled = true;
      status.show('Looking for the next review…');
      try {
        const lease = await api.nextReview(projectId);
        if (!lease) status.show('Nothing waits for review or adjudication right now.', 'info');
        else {
          leaseCache.set(lease.readId, lease);
          navigate(`/projects/${projectId}/review/${lease.taskId}/${lease.readId}`);
        }
      } catch (e) {
        status.show(errorText(e), 'error');
      } finally {
        btn.disabled = false;
      }
    },
  }, 'Next review');
  // The reviews and adjudications the caller holds: "Next review" hands out another, so one left open (a closed tab,
  // a page changed) could only be waited out until its lease lapsed.
  const held = h('section', { 'aria-label': 'Reviews and adjudications you hold' });
  outlet.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Review'), btn),
    h('p', null, 'Reviews and adjudications come one at a time. A review shows every read with the agreement numbers; an adjudication shows where the readers disagree.'),
    status,
    held,
  );
  try {
    const mine = (await api.myReads(projectId)).filter((r) => r.kind !== 'annotation' && r.state === 'leased');
    if (mine.length) {
      held.append(
        h('h2', null, 'In progress'),
        h(
          'table',
          { class: 'data' },
          h('caption', { class: 'visually-hidden' }, 'Reviews and adjudications you hold'),
          h('thead', null, h('tr', null, ...['Task', 'Modality', 'Work', 'Round', 'Lease until', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'visually-hidden' }, 'Actions'))))),
          h(
            'tbody',
            null,
            ...mine.map((r) =>
              h(
                'tr',
                null,
                h('td', null, h('code', null, r.taskId.slice(0, 8))),
                h('td', null, r.modality),
                h('td', null, r.kind),
                h('td', null, String(r.round)),
                h('td', null, r.leaseExpiresAt ? new Date(r.leaseExpiresAt).toLocaleTimeString() : ''),
                h('td', null, h('a', { href: `/projects/${projectId}/review/${r.taskId}/${r.readId}`, 'aria-label': `Continue the ${r.kind} of task ${r.taskId.slice(0, 8)}` }, 'Continue')),
              ),
            ),
          ),
        ),
      );
    }
  } catch (e) {
    status.show(errorText(e), 'error');
  }
}

export async function reviewerWorkspace({ projectId, taskId, readId }: Record<string, string>, outlet: HTMLElement) {
  const started = performance.now();
  const status = statusLine();
  const header = h('div', { class: 'ws-head' });
  const leaseBanner = h('div', { class: 'banner', hidden: true, role: 'alert' });
  const displayBar = h('div');
  const viewerHost = h('div', { class: 'viewers', 'aria-busy': 'true' });
  const sideBySide = h('div', { class: 'viewers grid', hidden: true, 'aria-label': 'Reads side by side' });
  const readoutHost = h('div');
  const side = h('aside', { class: 'side', 'aria-label': 'Review panel' });
  outlet.append(h('div', { class: 'workspace reviewer' }, header, leaseBanner, h('div', { class: 'ws-body' }, h('section', { class: 'stage', 'aria-label': 'Images' }, displayBar, viewerHost, sideBySide, readoutHost), side), status));

  let timers: number[] = [];
  let images: TaskImages | null = null;
  const extraViewers: Viewer[] = [];
  let removeShortcuts = () => undefined as void;
  let shapes: ShapeEditor | null = null;
  const sideShapes: ShapeEditor[] = [];
  let done = false;
  const cleanup = () => {
    timers.forEach((t) => window.clearInterval(t));
    removeShortcuts();
    shapes?.destroy();
    sideShapes.forEach((e) => e.destroy());
    images?.viewers.forEach((v) => v.destroy());
    extraViewers.forEach((v) => v.destroy());
    document.querySelectorAll('dialog.dialog').forEach((d) => d.remove());
  };

  const lease = leaseCache.get(readId);
  leaseCache.delete(readId);
  let task: TaskDetail;
  try {
    task = lease?.task ?? (await api.task(projectId, taskId));
  } catch (e) {
    status.show(errorText(e), 'error');
    return cleanup;
  }
  const myRead = task.reads.find((r) => r.id === readId);
  const kind = (lease?.kind ?? myRead?.kind ?? 'review') as 'review' | 'adjudication';
  if (!myRead || myRead.state !== 'leased' || !myRead.mine) {
    status.show('This review is not leased to you any more. Ask for the next one.', 'error');
    viewerHost.append(h('a', { class: 'button', href: `/projects/${projectId}/review` }, 'Back to review'));
    return cleanup;
  }
  const protocol = task.protocol ?? { version: 0, labels: [] as ProtocolLabel[], annotationTypes: [], instructions: '' };
  const labelName = new Map(protocol.labels.map((l) => [l.id, l.name]));
  const consensus: ConsensusInfo | undefined = task.consensus[task.consensus.length - 1];
  // A mask to review when the protocol has segmentation (or names no annotation types: older protocols).
  const types = protocol.annotationTypes;
  const segmentation = protocol.labels.length > 0 && task.kind !== 'view-group' && (types.length === 0 || types.some((t) => t.kind.startsWith('segmentation')));
  const kinds = protocol.labels.length ? shapeKinds(types) : [];
  const annotationReads = task.reads.filter((r) => r.kind === 'annotation' && r.labelVersionId).sort((a, b) => a.slot - b.slot);
  const readers = annotationReads.map((r, i) => ({ read: r, name: `Reader ${i + 1}`, color: READER_COLORS[i % READER_COLORS.length], version: task.labels.find((l) => l.id === r.labelVersionId) }));

  // ---- header and lease ------------------------------------------------------------------------------------
  let leaseExpiresAt = new Date(lease?.leaseExpiresAt ?? myRead.leaseExpiresAt ?? Date.now());
  const leaseOut = h('span', { class: 'lease' });
  const help = dialog('Keyboard shortcuts', shortcutsTable());
  const instructions = dialog('Instructions', h('div', { class: 'instructions' }, ...(protocol.instructions || 'No instructions were written for this protocol.').split(/\n{2,}/).map((p) => h('p', null, p))));
  // Coloured against the project's threshold once it is known (below it: the task went to adjudication).
  const agreementBadge = h('span', { class: 'agreement-badge', 'data-agreement': String(consensus?.agreement ?? '') }, consensus ? `Agreement ${fmtNum(consensus.agreement)} (${consensus.method})` : '');
  if (consensus) {
    void api
      .project(projectId)
      .then((project) => {
        const threshold = project.settings.quality.agreementThreshold;
        const below = consensus.agreement < threshold;
        agreementBadge.classList.toggle('below', below);
        agreementBadge.title = `${below ? 'Below' : 'At or above'} the project's agreement threshold (${fmtNum(threshold)})`;
        agreementBadge.textContent = `Agreement ${fmtNum(consensus.agreement)} (${consensus.method}, threshold ${fmtNum(threshold)})`;
      })
      .catch(() => undefined);
  }
  header.append(
    h(
      'div',
      { class: 'ws-title' },
      h('h1', null, `${kind === 'adjudication' ? 'Adjudication' : 'Review'} · task ${task.id.slice(0, 8)}`),
      h('span', { class: 'muted' }, `${task.modality} · ${readers.length} reads · round ${task.reworkRound}`),
      consensus ? agreementBadge : null,
      leaseOut,
    ),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => instructions.present() }, 'Instructions'), h('button', { type: 'button', 'aria-label': 'Keyboard shortcuts', onclick: () => help.present() }, 'Shortcuts ?')),
  );
  const tick = () => {
    if (done) return;
    const s = Math.max(0, Math.round((leaseExpiresAt.getTime() - Date.now()) / 1000));
    leaseOut.textContent = `Lease: ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} left`;
  };
  tick();
  timers.push(window.setInterval(tick, 1000));
  const heartbeat = async () => {
    if (done) return;
    try {
      leaseExpiresAt = new Date((await api.heartbeat(projectId, readId)).leaseExpiresAt);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 409 || e.status === 403)) {
        done = true;
        leaseBanner.hidden = false;
        leaseBanner.textContent = e.message;
      }
    }
  };
  timers.push(window.setInterval(heartbeat, HEARTBEAT_MS));
  void heartbeat();

  // ---- images and layers -----------------------------------------------------------------------------------
  try {
    images = await openTaskImages(projectId, task, viewerHost, started, { editable: segmentation });
  } catch (e) {
    viewerHost.setAttribute('aria-busy', 'false');
    status.show(errorText(e), 'error');
    return cleanup;
  }
  viewerHost.setAttribute('aria-busy', 'false');
  const { primary, viewers, grid } = images;
  primary.setLabels(protocol.labels);
  displayBar.append(displayToolbar(() => [...viewers, ...extraViewers], task.modality));
  readoutHost.append(readout(primary, protocol.labels));

  const readerMasks: Uint8Array[] = [];
  try {
    if (segmentation) for (const r of readers) readerMasks.push(r.version?.hasMask ? await images.fetchMask(r.version.id) : new Uint8Array(primary.dims[0] * primary.dims[1] * primary.dims[2]));
  } catch (e) {
    status.show(`A read could not be loaded: ${errorText(e)}`, 'error');
  }
  const labelColors = new Map(protocol.labels.map((l) => [l.id, l.color]));
  // Disagreement: voxels where the readers do not all give the same label.
  const disagreement = disagreementMap(readerMasks);
  primary.batch(() => {
    readers.forEach((r, i) => {
      if (!readerMasks[i]) return;
      const colors = new Map(protocol.labels.map((l) => [l.id, r.color]));
      primary.setOverlay(`reader-${i}`, readerMasks[i], colors, 0.45, false);
    });
    if (disagreement) primary.setOverlay('disagreement', disagreement.map, new Map<number, string>([[1, DISAGREE_COLOR]]), 0.7, kind === 'adjudication');
  });
  // The final mask starts from the adjudicated result when an adjudicator decided this round (it is what an approval
  // approves and an export takes: starting from the merge showed the reviewer a mask nobody would get, and an edit
  // discarded the adjudicator's work), else from the merged result (or, without one, the readers' majority).
  const adjudicated = kind === 'review' ? latestOf(task.labels.filter((l) => l.kind === 'adjudicated' && l.round === task.reworkRound)) : undefined;
  const startVersionId = adjudicated?.id ?? consensus?.mergedVersionId;
  let startedFrom = adjudicated ? 'the adjudicated result' : 'the merged result';
  if (!segmentation) startedFrom = '';
  else if (startVersionId && (adjudicated ? adjudicated.hasMask : true)) {
    try {
      primary.setMask(await images.fetchMask(startVersionId));
    } catch (e) {
      status.show(`The ${adjudicated ? 'adjudicated' : 'merged'} mask could not be loaded: ${errorText(e)}`, 'error');
    }
  } else if (readerMasks.length) {
    primary.setMask(majority(readerMasks));
    startedFrom = 'the readers’ majority vote (no merged result)';
  }
  let edited = false;
  primary.onChange(() => (edited = true));
  // A reader's layer (mask and shapes together) starts as its mask overlay does; without masks, shown when adjudicating.
  const readerVisible = (i: number) => (segmentation ? primary.overlayVisible(`reader-${i}`) : kind === 'adjudication');
  // Shapes: each reader's as a dashed layer in the reader's colour, the merged ones as the editable result.
  const mergedVersion = task.labels.find((l) => l.id === startVersionId);
  const mergedAnswers = { ...(mergedVersion?.answers ?? {}) };
  delete mergedAnswers.shapes;
  // Questions: each reader's answer under the question, the final answer (editable) from the merged result.
  const questions = questionsOf(protocol.annotationTypes);
  const answerForm = questionForm(questions, uid('final-q'), () => (edited = true), (q) => {
    const given = readers.map((r) => ({ name: r.name, value: answerText(r.version?.answers?.[q.question]) }));
    const split = new Set(given.map((g) => g.value)).size > 1;
    return h('p', { class: `muted small reader-answers${split ? ' disputed' : ''}` }, `${split ? 'Readers disagree: ' : ''}${given.map((g) => `${g.name}: ${g.value}`).join(' · ')}`);
  });
  answerForm.fill(mergedAnswers);
  const questionsEl = questions.length
    ? h('section', { class: 'panel questions', 'aria-label': 'Questions' }, h('h2', null, kind === 'adjudication' ? 'Questions (final answer; a question the readers split evenly on starts blank)' : adjudicated ? 'Questions (adjudicated answer, editable)' : 'Questions (merged answer, editable)'), ...answerForm.fieldsets)
    : null;
  let shapesEl: HTMLElement | null = null;
  if (kinds.length) {
    shapes = new ShapeEditor(kinds, protocol.labels, true);
    viewers.forEach((v, i) => shapes!.attach(v, task.series[i].id));
    shapes.groups = readers.map((r, i) => ({ key: `reader-${i}`, name: r.name, color: r.color, shapes: (r.version?.answers?.shapes as WebShape[] | undefined) ?? [], visible: readerVisible(i) }));
    shapes.setShapes((mergedVersion?.answers?.shapes as WebShape[] | undefined) ?? []);
    shapes.onChange(() => (edited = true));
    shapesEl = shapes.panel();
  }

  // ---- side panel ------------------------------------------------------------------------------------------
  const modeName = uid('mode');
  const overlaid = h('input', { type: 'radio', name: modeName, value: 'overlay', checked: true, onchange: () => setMode('overlay') });
  const sbs = h('input', { type: 'radio', name: modeName, value: 'side', onchange: () => setMode('side') });
  const modeEl = h('fieldset', { class: 'panel' }, h('legend', null, 'Reads'), h('label', { class: 'choice' }, overlaid, 'Overlaid'), h('label', { class: 'choice' }, sbs, 'Side by side'));
  const readerRows = readers.map((r, i) => {
    const toggle = (on: boolean) => {
      primary.setOverlayVisible(`reader-${i}`, on);
      const group = shapes?.groups[i];
      if (group) {
        group.visible = on;
        shapes!.changed(false);
      }
    };
    const box = h('input', { type: 'checkbox', checked: readerVisible(i), onchange: () => toggle(box.checked) });
    const dice = consensus?.metrics.labels?.filter((l) => l.present !== false).map((l) => l.vsMerged?.[i]?.dice).filter((d): d is number => typeof d === 'number') ?? [];
    const meanDice = dice.length ? dice.reduce((a, b) => a + b, 0) / dice.length : null;
    return h(
      'label',
      { class: 'choice reader' },
      box,
      h('span', { class: 'swatch', style: `background:${r.color}`, 'aria-hidden': 'true' }),
      `${r.name}`,
      meanDice !== null ? h('span', { class: 'muted small' }, `Dice vs merged ${fmtNum(meanDice, 2)}`) : null,
    );
  });
  const finalBox = h('input', { type: 'checkbox', checked: true, onchange: () => primary.setDrawingVisible(finalBox.checked) });
  const disBox = h('input', { type: 'checkbox', checked: kind === 'adjudication', disabled: !disagreement, onchange: () => primary.setOverlayVisible('disagreement', disBox.checked) });
  const layers = h(
    'section',
    { class: 'panel layers', 'aria-label': 'Layers' },
    h('h2', null, 'Layers'),
    ...readerRows,
    segmentation ? h('label', { class: 'choice' }, finalBox, h('span', { class: 'swatch merged', 'aria-hidden': 'true' }), kind === 'adjudication' ? 'Final mask (editable)' : adjudicated ? 'Adjudicated result (editable)' : 'Merged result (editable)') : null,
    segmentation ? h('label', { class: 'choice' }, disBox, h('span', { class: 'swatch', style: `background:${DISAGREE_COLOR}`, 'aria-hidden': 'true' }), `Disagreement${disagreement ? ` (${disagreement.count} voxels)` : ''}`) : null,
    segmentation ? h('p', { class: 'muted small' }, `Final mask starts from ${startedFrom}.`) : null,
    kinds.length ? h('p', { class: 'muted small' }, 'Readers’ shapes are dashed in their colour; the merged shapes (editable, under Shapes) are solid.') : null,
  );

  const agreementEl = agreementTable(consensus, labelName);
  const regionsEl = disagreementList(consensus, labelName, (voxel) => {
    const v = [voxel[0], voxel[1], voxel[2] + grid.z0];
    viewers.forEach((x) => x.jumpTo(v));
    extraViewers.forEach((x) => x.jumpTo(v));
    announce(`Moved to voxel ${v.join(', ')}`);
  });
  const disputedEl = disputedShapes(consensus, shapes);
  const tools = segmentation ? maskTools(primary, protocol.labels) : null;
  const previous = task.reviews.length
    ? h('section', { class: 'panel' }, h('h2', null, 'Earlier reviews'), h('ul', { class: 'plain' }, ...task.reviews.map((r) => h('li', null, `Round ${r.round}: ${r.decision}${r.comment ? ` — “${r.comment}”` : ''}`))))
    : null;

  // ---- decision --------------------------------------------------------------------------------------------
  const commentId = uid('comment');
  const comment = h('textarea', { id: commentId, rows: 3, placeholder: kind === 'review' ? 'Required to reject: tell the annotators what to fix' : 'Optional note' });
  const decisionStatus = statusLine();
  const buttons: HTMLButtonElement[] = [];
  const decide = async (decision: 'approve' | 'edit-approve' | 'reject' | 'adjudicate') => {
    if (done) return;
    if (decision === 'reject' && !comment.value.trim()) {
      decisionStatus.show('A rejection needs a comment telling the annotators what to fix.', 'error');
      comment.focus();
      return;
    }
    // "Approve" approves the label as it came: edits made here were dropped without a word.
    if (decision === 'approve' && edited && !window.confirm('You edited the label. “Approve” approves it as it was and drops your edits; “Edit & approve” keeps them.\n\nDrop your edits and approve it as it was?')) {
      decisionStatus.show('Not sent: use “Edit & approve” to approve the label with your edits.', 'info');
      return;
    }
    const missing = decision === 'edit-approve' || decision === 'adjudicate' ? answerForm.missing() : [];
    if (missing.length) {
      decisionStatus.show(`Answer every question first: ${missing.join(', ')}.`, 'error');
      return;
    }
    buttons.forEach((b) => (b.disabled = true));
    decisionStatus.show('Sending…');
    try {
      // The final result: the mask (segmentation protocols) and the answers with the edited shapes.
      const result = {
        ...(segmentation ? { mask: images!.maskForServer() } : {}),
        ...(shapes || questions.length ? { answers: { ...answerForm.values(), ...(shapes ? { shapes: shapes.forServer() } : {}) } } : {}),
      };
      const res =
        decision === 'adjudicate'
          ? await api.adjudicate(projectId, readId, { ...result, comment: comment.value })
          : await api.review(projectId, readId, { decision, comment: comment.value, ...(decision === 'edit-approve' ? result : {}) });
      done = true;
      leaseOut.textContent = 'Done';
      // A rejection past the rework limit goes to the managers, not back to the annotators.
      const rejected = res.taskState === 'escalated' ? 'Rejected. The rework limit is reached, so the task goes to the project’s managers' : 'Rejected and sent back to the annotators';
      const words = { approve: 'Approved', 'edit-approve': 'Edited and approved', reject: rejected, adjudicate: 'Final mask submitted' }[decision];
      decisionStatus.show(`${words}. The task is now “${res.taskState.replace(/_/g, ' ')}”.`, 'ok');
      announce(words);
      const next = h('a', { class: 'button primary', href: `/projects/${projectId}/review` }, 'Next review');
      decisionStatus.append(' ', next);
      next.focus();
    } catch (e) {
      buttons.forEach((b) => (b.disabled = false));
      decisionStatus.show(errorText(e), 'error');
    }
  };
  if (kind === 'review') {
    buttons.push(
      h('button', { type: 'button', class: 'primary', onclick: () => decide('approve') }, 'Approve'),
      h('button', { type: 'button', onclick: () => decide('edit-approve'), title: 'Approve the final mask as you edited it' }, 'Edit & approve'),
      h('button', { type: 'button', class: 'danger', onclick: () => decide('reject') }, 'Reject'),
    );
  } else buttons.push(h('button', { type: 'button', class: 'primary', onclick: () => decide('adjudicate') }, 'Submit final mask'));
  const decisionEl = h(
    'section',
    { class: 'panel decision', 'aria-label': 'Decision' },
    h('h2', null, 'Decision'),
    h('label', { for: commentId }, kind === 'review' ? 'Comment for the annotators' : 'Note'),
    comment,
    h('div', { class: 'row' }, ...buttons),
    decisionStatus,
  );
  side.append(...[decisionEl, questionsEl, agreementEl, regionsEl, disputedEl, modeEl, layers, shapesEl, tools, previous].filter((x): x is HTMLElement => Boolean(x)));

  // Side by side: one linked viewer per reader, each with that reader's mask in the protocol colours.
  let sideBuilt = false;
  async function setMode(mode: 'overlay' | 'side') {
    viewerHost.hidden = mode === 'side';
    sideBySide.hidden = mode !== 'side';
    if (mode === 'side' && !sideBuilt) {
      sideBuilt = true;
      sideBySide.setAttribute('aria-busy', 'true');
      const buf = await api.volume(projectId, task.series[0].id, task.imageSource === 'instance' ? task.instanceId! : undefined);
      for (const [i, r] of readers.entries()) {
        const cell = h('div', { class: 'viewer-cell' }, h('p', { class: 'viewer-caption' }, h('span', { class: 'swatch', style: `background:${r.color}`, 'aria-hidden': 'true' }), ` ${r.name}`));
        sideBySide.append(cell);
        const v = new Viewer(cell, { label: `${r.name}'s mask on the image` });
        await v.attach();
        await v.load(buf.slice(0), task.modality);
        if (readerMasks[i]) v.setOverlay('mask', readerMasks[i], labelColors, 0.5, true);
        if (kinds.length) {
          // That reader's boxes, points and polygons, read only, in the protocol's colours.
          const own = new ShapeEditor(kinds, protocol.labels, false);
          own.attach(v, task.series[0].id);
          own.setShapes(((r.version?.answers?.shapes as WebShape[] | undefined) ?? []).filter((shape) => (shape.image ?? task.series[0].id) === task.series[0].id));
          sideShapes.push(own);
        }
        extraViewers.push(v);
      }
      // Side by side follows the main view's slice, zoom and pan.
      Viewer.link([...viewers, ...extraViewers]);
      sideBySide.setAttribute('aria-busy', 'false');
    }
    const l = primary.location();
    if (mode === 'side' && l) extraViewers.forEach((v) => v.jumpTo(l.voxel));
  }

  removeShortcuts = installShortcuts(viewers, { tools: tools ?? undefined, shapes, labels: protocol.labels, onHelp: () => help.present(), onToggleMask: () => ((finalBox.checked = !finalBox.checked), primary.setDrawingVisible(finalBox.checked)) });
  exposeForTests({ viewer: primary, viewers, metrics: images.metrics, grid, kind, readerMasks, shapes, edited: () => edited });
  if (kind === 'adjudication') regionsEl?.querySelector<HTMLButtonElement>('button')?.click();
  status.show(kind === 'adjudication' ? 'Adjudication: the magenta layer shows where the readers disagree. Fix the final mask there and submit it.' : 'Compare the reads, then approve, edit and approve, or reject with a comment.');
  return cleanup;
}

function disagreementMap(masks: Uint8Array[]): { map: Uint8Array; count: number } | null {
  if (masks.length < 2) return null;
  const n = masks[0].length;
  const map = new Uint8Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = masks[0][i];
    for (let k = 1; k < masks.length; k++) {
      if (masks[k][i] !== v) {
        map[i] = 1;
        count++;
        break;
      }
    }
  }
  return { map, count };
}

function majority(masks: Uint8Array[]): Uint8Array {
  const n = masks[0].length;
  const out = new Uint8Array(n);
  const need = Math.floor(masks.length / 2) + 1;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < masks.length; k++) {
      const v = masks[k][i];
      if (!v) continue;
      let c = 0;
      for (const m of masks) if (m[i] === v) c++;
      if (c >= need) {
        out[i] = v;
        break;
      }
    }
  }
  return out;
}

function agreementTable(c: ConsensusInfo | undefined, names: Map<number, string>): HTMLElement {
  const el = h('section', { class: 'panel agreement', 'aria-label': 'Agreement' }, h('h2', null, 'Agreement'));
  if (!c) {
    el.append(h('p', { class: 'muted' }, 'No agreement was computed for this task.'));
    return el;
  }
  const range = (o?: { mean: number; min: number; max: number } | null, digits = 3) =>
    o ? [h('span', null, fmtNum(o.mean, digits)), o.min !== o.max ? h('span', { class: 'range' }, `${fmtNum(o.min, 2)}–${fmtNum(o.max, 2)}`) : null] : '–';
  el.append(
    h('p', null, `Task agreement `, h('strong', { class: 'agreement-value' }, fmtNum(c.agreement)), ` · merge: ${c.method}`),
    h(
      'table',
      { class: 'data compact' },
      h('caption', { class: 'visually-hidden' }, 'Agreement per label: mean and range over reader pairs'),
      h('thead', null, h('tr', null, ...['Label', 'Dice', 'IoU', 'HD95 (mm)'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        ...(c.metrics.labels ?? [])
          .filter((l) => l.present !== false)
          .map((l) => h('tr', { dataset: { label: String(l.label) } }, h('th', { scope: 'row' }, names.get(l.label) ?? `Label ${l.label}`), h('td', null, range(l.dice)), h('td', null, range(l.iou)), h('td', null, range(l.hd95 ?? null, 1)))),
      ),
    ),
  );
  const s = c.metrics.shapes;
  if (s) {
    el.append(
      h('p', null, 'Shapes: agreement ', h('strong', { class: 'shape-agreement' }, fmtNum(s.agreement)), h('span', { class: 'muted small' }, ' (matched boxes/polygons by IoU ≥ 0.5, points within 5 px; mean over reader pairs)')),
      h(
        'table',
        { class: 'data compact shape-agreement-table' },
        h('caption', { class: 'visually-hidden' }, 'Shape agreement per label'),
        h('thead', null, h('tr', null, ...['Label', 'Agreement', 'Shapes per reader'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, ...s.labels.map((l) => h('tr', { dataset: { label: String(l.label) } }, h('th', { scope: 'row' }, names.get(l.label) ?? `Label ${l.label}`), h('td', null, fmtNum(l.agreement)), h('td', null, l.counts.join(' / '))))),
      ),
    );
  }
  return el;
}

/** Shapes only some readers drew (not a majority), each with a button that shows it. */
function disputedShapes(c: ConsensusInfo | undefined, editor: ShapeEditor | null): HTMLElement | null {
  const list = c?.disagreement?.shapes ?? [];
  if (!list.length || !editor) return null;
  return h(
    'section',
    { class: 'panel disputed-shapes', 'aria-label': 'Shapes the readers disagree on' },
    h('h2', null, 'Shapes not agreed'),
    h('p', { class: 'muted small' }, 'Drawn by some readers but not by a majority, so not in the merged result.'),
    h(
      'ul',
      { class: 'plain' },
      ...list.map((d) => {
        const text = `${describeShape(d.shape, editor.nameOf(d.shape.label))} · ${d.readers} reader${d.readers > 1 ? 's' : ''}`;
        return h('li', null, h('button', { type: 'button', class: 'link', onclick: () => editor.show(d.shape) }, text), ' ', h('button', { type: 'button', class: 'small', 'aria-label': `Add to the result: ${text}`, onclick: () => editor.add({ ...d.shape }) }, 'Add'));
      }),
    ),
  );
}

function disagreementList(c: ConsensusInfo | undefined, names: Map<number, string>, jump: (voxel: number[]) => void): HTMLElement | null {
  const labels = c?.disagreement?.labels?.filter((l) => l.voxels > 0) ?? [];
  if (!labels.length) return null;
  const el = h('section', { class: 'panel regions', 'aria-label': 'Disagreement regions' }, h('h2', null, 'Where readers disagree'));
  for (const l of labels) {
    const regions = [...l.regions].sort((a, b) => b.voxels - a.voxels).slice(0, 12);
    el.append(
      h('h3', null, `${names.get(l.label) ?? `Label ${l.label}`}: ${l.voxels} voxels`),
      h(
        'ul',
        { class: 'plain region-list' },
        ...regions.map((r, i) => {
          // Boxes are half-open: [x0, x1) and so on.
          const [x0, y0, z0, x1, y1, z1] = r.box;
          const centre = [Math.floor((x0 + x1 - 1) / 2), Math.floor((y0 + y1 - 1) / 2), Math.floor((z0 + z1 - 1) / 2)];
          const slices = z1 - z0 > 1 ? `slices ${z0 + 1}–${z1}` : `slice ${z0 + 1}`;
          return h('li', null, h('button', { type: 'button', class: 'link', onclick: () => jump(centre) }, `Region ${i + 1}: ${r.voxels} voxels, ${slices}`));
        }),
      ),
      h(
        'details',
        null,
        h('summary', null, `By slice (${l.slices.length})`),
        h('ul', { class: 'plain slice-list' }, ...l.slices.map((s) => {
          const inSlice = l.regions.find((r) => r.box[2] <= s.z && r.box[5] > s.z);
          const xy = inSlice ? [Math.floor((inSlice.box[0] + inSlice.box[3] - 1) / 2), Math.floor((inSlice.box[1] + inSlice.box[4] - 1) / 2)] : [0, 0];
          return h('li', null, h('button', { type: 'button', class: 'link', onclick: () => jump([xy[0], xy[1], s.z]) }, `Slice ${s.z + 1}: ${s.voxels} voxels`));
        })),
      ),
    );
  }
  return el;
}

/** The newest of some label versions (by creation), or undefined. */
function latestOf(versions: LabelVersionInfo[]): LabelVersionInfo | undefined {
  return [...versions].sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt))).pop();
}
