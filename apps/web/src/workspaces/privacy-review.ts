// The manager's privacy review (Data tab): images whose pixels may show identifying text (burned-in annotation,
// project setting deid.burnedInHold) are held from annotators and reviewers until a manager of the project looks
// at each one (the WADO-RS rendered PNG) and clears it for annotation or excludes it for good. Rows are kept
// between refreshes, so a comment being typed and a loaded preview survive the polling.
import { api, PrivacyDecision, PrivacyReviewItem } from '../api';
import { announce, errorText, fmtDate, h, replace, statusLine, uid } from '../dom';
import { dialog } from '../viewer/controls';

/** Rows shown at once (the oldest first, as the API lists them). */
const PAGE = 20;

const FLAG_TEXT: Record<string, string> = {
  'burned-in-annotation': 'Declares burned-in text',
  'review-burned-in': 'Kind of image that often has burned-in text',
};

/** The end of a UID: enough to tell rows apart; the whole UID is in the title. */
const shortUid = (value: string) => (value.length > 12 ? `…${value.slice(-10)}` : value);

interface Row {
  item: PrivacyReviewItem;
  tr: HTMLTableRowElement;
  comment: HTMLInputElement;
  /** The row's header cell (the image), which describes the row's buttons. */
  headerId: string;
  buttons: HTMLButtonElement[];
  /** A decision is on its way: more clicks do nothing. */
  busy: boolean;
}

/** The section, its refresh (for the tab's polling: it throws) and its first load (a failure is shown in the section). */
export function privacyReviewCard(projectId: string): { el: HTMLElement; refresh(): Promise<void>; load(): Promise<void> } {
  const st = statusLine();
  const headingId = uid('privacy');
  const heading = h('h2', { id: headingId, tabindex: '-1' }, 'Privacy review');
  const caption = h('caption');
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'data compact privacy-review', hidden: true },
    caption,
    h('thead', null, h('tr', null, ...['Image', 'Preview', 'Series', 'Study', 'Modality', 'Why it is held', 'Received', 'Decision'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody,
  );
  // Both hidden until the first list has come.
  const empty = h('p', { class: 'muted', hidden: true }, 'No images waiting for a privacy review.');
  const rows = new Map<string, Row>();
  // Decided here: left out of a list fetched before the decision was recorded.
  const decided = new Set<string>();
  let total = 0;
  // Only the newest refresh is shown; a decision also makes the refreshes already under way stale.
  let generation = 0;
  // Previews load one after another, oldest row first (each is a rendering on the server).
  let previews: Promise<void> = Promise.resolve();

  function showCounts() {
    const n = rows.size;
    table.hidden = n === 0;
    empty.hidden = n > 0;
    // The oldest page only: say so when there are more.
    if (total > n) {
      caption.className = '';
      caption.textContent = `The oldest ${n} of ${total} images waiting for a privacy review`;
    } else {
      caption.className = 'visually-hidden';
      caption.textContent = 'Images waiting for a privacy review';
    }
  }

  async function refresh() {
    const mine = ++generation;
    const page = await api.privacyReview(projectId, { state: 'pending', limit: PAGE });
    if (mine !== generation) return;
    const items = page.items.filter((i) => !decided.has(i.id));
    total = page.total - (page.items.length - items.length);
    const ids = new Set(items.map((i) => i.id));
    for (const [id, row] of rows) if (!ids.has(id)) removeRow(row);
    // New rows go in their place; the rows already shown are not moved (moving one would take its focus away).
    let next: ChildNode | null = tbody.firstChild;
    for (const item of items) {
      const known = rows.get(item.id);
      if (known) {
        next = known.tr.nextSibling;
        continue;
      }
      const row = makeRow(item);
      rows.set(item.id, row);
      tbody.insertBefore(row.tr, next);
    }
    showCounts();
  }

  function makeRow(item: PrivacyReviewItem): Row {
    const name = shortUid(item.sopInstanceUid);
    const headerId = uid('held');
    const preview = h('div', { class: 'preview' }, h('span', { class: 'muted small' }, 'Loading preview…'));
    const comment = h('input', { type: 'text', maxlength: '2000', 'aria-label': `Comment on image ${name}`, placeholder: 'Optional comment' });
    const clear = h('button', { type: 'button', class: 'primary', 'aria-describedby': headerId }, 'Clear for annotation');
    const exclude = h('button', { type: 'button', class: 'danger', 'aria-describedby': headerId }, 'Exclude');
    const clearSeries = h('button', { type: 'button', 'aria-describedby': headerId }, 'Clear its whole series');
    const tr = h(
      'tr',
      { dataset: { instance: item.id, series: item.seriesInstanceUid } },
      h('th', { scope: 'row', id: headerId }, h('span', { class: 'visually-hidden' }, 'Image '), h('code', { title: item.sopInstanceUid }, name)),
      h('td', null, preview),
      h('td', null, h('code', { title: item.seriesInstanceUid }, shortUid(item.seriesInstanceUid))),
      h('td', null, h('code', { title: item.studyInstanceUid }, shortUid(item.studyInstanceUid))),
      h('td', null, `${item.modality}${item.frames && item.frames > 1 ? ` · ${item.frames} frames` : ''}`),
      h('td', null, item.flags.map((f) => FLAG_TEXT[f] ?? f).join('; ')),
      h('td', null, fmtDate(item.receivedAt)),
      h('td', null, h('div', { class: 'row' }, comment, clear, exclude, clearSeries)),
    );
    const row: Row = { item, tr, comment, headerId, buttons: [clear, exclude, clearSeries], busy: false };
    clear.addEventListener('click', () => void decide(row, 'clear'));
    exclude.addEventListener('click', () => void decide(row, 'exclude'));
    clearSeries.addEventListener('click', () => void clearWholeSeries(row));
    previews = previews.then(() => loadPreview(row, preview));
    return row;
  }

  async function loadPreview(row: Row, cell: HTMLElement) {
    if (!row.tr.isConnected) return;
    const { item } = row;
    const alt = `Preview of image ${shortUid(item.sopInstanceUid)} of series ${shortUid(item.seriesInstanceUid)}${item.frames && item.frames > 1 ? ' (first frame)' : ''}`;
    try {
      const png = await api.renderedImage(projectId, item);
      const img = imageOf(png, alt, 'preview-image');
      const full = h('button', { type: 'button', class: 'small', 'aria-describedby': row.headerId }, 'Full size');
      full.addEventListener('click', () => {
        const d = dialog(`Image ${shortUid(item.sopInstanceUid)} · full size`, h('div', { class: 'privacy-full' }, imageOf(png, alt)));
        d.addEventListener('close', () => d.remove());
        d.present();
      });
      replace(cell, img, full);
    } catch (e) {
      replace(cell, h('span', { class: 'small' }, `No preview: ${errorText(e)}`));
    }
  }

  async function decide(row: Row, decision: PrivacyDecision) {
    const name = shortUid(row.item.sopInstanceUid);
    await settle([row], async () => {
      const r = await api.privacyDecision(projectId, row.item.id, decision, row.comment.value.trim());
      const msg = r.duplicate
        ? `Image ${name} was already ${r.decision === 'clear' ? 'cleared' : 'excluded'} by ${r.by}.`
        : decision === 'clear'
          ? `Image ${name} cleared for annotation.`
          : `Image ${name} excluded: annotators and reviewers will never see it; the rest of its series is annotated with it blanked.`;
      return { count: 1, msg };
    });
  }

  /** Clears every waiting image of the row's series (one look at a series flagged slice by slice), with the row's comment. */
  async function clearWholeSeries(row: Row) {
    const same = [...rows.values()].filter((r) => r.item.seriesId === row.item.seriesId);
    await settle(same, async () => {
      const r = await api.privacySeriesDecision(projectId, row.item.seriesId, 'clear', row.comment.value.trim());
      return { count: r.decided, msg: `${r.decided} image${r.decided === 1 ? '' : 's'} of series ${shortUid(row.item.seriesInstanceUid)} cleared for annotation.` };
    });
  }

  /** Runs a decision on `targets`: their buttons busy meanwhile, then the rows out, the counts and the message; the error shown otherwise. */
  async function settle(targets: Row[], call: () => Promise<{ count: number; msg: string }>) {
    if (targets.some((r) => r.busy)) return;
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus to the page.
    const busy = (on: boolean) =>
      targets.forEach((r) => {
        r.busy = on;
        r.buttons.forEach((b) => (on ? b.setAttribute('aria-disabled', 'true') : b.removeAttribute('aria-disabled')));
      });
    busy(true);
    generation++;
    try {
      const { count, msg } = await call();
      for (const r of targets) {
        decided.add(r.item.id);
        removeRow(r);
      }
      total = Math.max(rows.size, total - count);
      showCounts();
      st.show(msg, 'ok');
      announce(msg);
    } catch (e) {
      busy(false);
      st.show(errorText(e), 'error');
    }
    // The next images beyond this page move up; one decided elsewhere (a 409 above) leaves.
    await refresh().catch((e) => st.show(errorText(e), 'error'));
  }

  /** Takes a row out; when it had the keyboard focus, the focus goes to the next row (or the one before, or the heading). */
  function removeRow(row: Row) {
    rows.delete(row.item.id);
    if (!row.tr.isConnected) return;
    const focused = row.tr.contains(document.activeElement);
    const neighbour = (row.tr.nextElementSibling ?? row.tr.previousElementSibling) as HTMLElement | null;
    row.tr.remove();
    if (focused) (neighbour ? rows.get(neighbour.dataset.instance ?? '')?.comment ?? heading : heading).focus();
  }

  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': headingId, dataset: { section: 'privacy-review' } },
    heading,
    h(
      'p',
      { class: 'muted small' },
      'Images whose pixels may show identifying text (burned-in annotation) are held here: annotators and reviewers see none of them until you clear them. ' +
        'Exclude keeps an image out for good, and its whole series then gets no task (a task shows its whole series). A decision is not taken back.',
    ),
    table,
    empty,
    st,
  );
  return { el, refresh, load: () => refresh().catch((e) => st.show(errorText(e), 'error')) };
}

/** An <img> of a PNG blob; its object URL is let go once the image has loaded (the decoded image stays shown). */
function imageOf(png: Blob, alt: string, className?: string): HTMLImageElement {
  const url = URL.createObjectURL(png);
  const img = h('img', { src: url, alt, class: className });
  const release = () => URL.revokeObjectURL(url);
  img.addEventListener('load', release, { once: true });
  img.addEventListener('error', release, { once: true });
  return img;
}
