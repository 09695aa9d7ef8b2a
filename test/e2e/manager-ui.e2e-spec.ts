// The manager's dashboard and the project navigation in a real Chromium against the built coordinator and worker:
// each user sees the workspaces their roles in the project open (an annotator opening the dashboard gets one
// message, not an error per tab); a project split per image into more tasks than one page lists the first page
// with its count and the rest with "Load more", the state filter included; a task's row and history follow a
// manager's change, and an empty priority is refused; the members list follows each removal and addition; a
// double-clicked upload sends once, and a blank AE title is refused in the browser; the Audit tab pages the project's
// trail newest first, filtered by action and person.
import { Browser, Page } from 'playwright-core';
import { ctPhantomSeries } from '@contour/dicom';
import { assertBrowserTestPrerequisites, launchChromium, ownDatabase, see, signInPage } from '../support/browser';
import { ApiClient, RunningContour, startContour } from '../support/processes';
import { eventually } from '../support/system';

const PASSWORD = 'manager-ui-e2e-password';
/** Rows the Tasks tab lists at once (apps/web/src/workspaces/manager.ts TASK_PAGE). */
const PAGE = 100;
const SLICES = 110;

interface Row {
  id: string;
  state: string;
  priority: number;
}

describe('manager dashboard in the browser: navigation by role, task paging, task changes and members', () => {
  let db: { url: string; close(): Promise<void> };
  let contour: RunningContour;
  let base: string;
  let admin: ApiClient;
  let pm: ApiClient;
  let annId: string;
  let browser: Browser;
  let projectId: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    assertBrowserTestPrerequisites();
    db = await ownDatabase('managerui');
    contour = await startContour(db.url);
    base = contour.baseUrl;
    admin = await new ApiClient(base).login('admin', contour.env.CONTOUR_ADMIN_PASSWORD!);
    await admin.request('POST', '/api/users', { username: 'pm', password: PASSWORD, roles: ['manager'], skills: [] });
    annId = (await admin.request('POST', '/api/users', { username: 'ann', password: PASSWORD, roles: ['annotator'], skills: [] })).id;
    pm = await new ApiClient(base).login('pm', PASSWORD);
    projectId = (await pm.request('POST', '/api/projects', { name: 'Chest CT slices', settings: { quality: { reads: 1, reviewRequired: false }, split: { policy: 'image' } } })).id;
    await pm.request('POST', `/api/projects/${projectId}/protocols`, { labels: [{ id: 1, name: 'Nodule', color: '#ef4444' }], annotationTypes: [{ kind: 'segmentation-2d' }] });
    await pm.request('PUT', `/api/projects/${projectId}/members/${annId}`, { roles: ['annotator'] });
    const series = ctPhantomSeries({ seed: 'manager-ui-e2e', slices: SLICES, rows: 8, columns: 8, pixelSpacing: 40, sliceThickness: 5, patient: { name: 'Paging^Test', id: 'P-PAGING' } });
    const { batchId } = await pm.upload(projectId, series.files.map((data, i) => ({ name: `slice-${i}.dcm`, data })));
    await eventually(async () => (await pm.request('GET', `/api/projects/${projectId}/uploads/${batchId}`)).done, 90_000, 250);
    // One task per image, each settled (none still being made or pre-labelled), so the pages do not move under the test.
    await eventually(async () => {
      const rows = await tasks();
      return rows.length === SLICES && rows.every((t) => !['created', 'prelabelling'].includes(t.state)) ? rows : null;
    }, 90_000, 250);
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await contour?.stop();
    await db?.close();
  });

  afterEach(() => expect(pageErrors).toEqual([]));

  /** Every task of the project in the list's order (one page of the API's largest). */
  const tasks = async () => (await pm.request('GET', `/api/projects/${projectId}/tasks?limit=1000`)) as Row[];
  const navLinks = (page: Page) => page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  const shownTaskIds = (page: Page) => page.locator('table.tasks tbody tr[data-task]').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.task));
  async function openTab(page: Page, tab: string) {
    await page.goto(`${base}/projects/${projectId}/manage`);
    await page.getByRole('tab', { name: tab }).click();
  }

  it('each user sees the workspaces of their roles in the project; an annotator opening the dashboard gets one message', async () => {
    const ann = await signInPage(browser, base, 'ann', PASSWORD, (m) => pageErrors.push(m));
    await ann.goto(`${base}/projects/${projectId}/annotate`);
    await see(ann.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Annotate' })).visible();
    expect(await navLinks(ann)).toEqual(['Projects', 'Annotate']);
    await ann.goto(`${base}/projects/${projectId}/manage`);
    await see(ann.getByRole('alert')).contains('Only the managers of this project see its dashboard.');
    await see(ann.getByRole('alert')).count(1);
    await see(ann.getByRole('tablist')).count(0);
    await see(ann.getByRole('link', { name: 'Annotate' })).count(2);
    await ann.context().close();

    const manager = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await manager.goto(`${base}/projects/${projectId}/manage`);
    await see(manager.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage' })).attr('aria-current', 'page');
    expect(await navLinks(manager)).toEqual(['Projects', 'Manage']);
    await see(manager.getByRole('tab', { name: 'Tasks' })).visible();
    await manager.context().close();

    const root = await signInPage(browser, base, 'admin', contour.env.CONTOUR_ADMIN_PASSWORD!, (m) => pageErrors.push(m));
    await root.goto(`${base}/projects/${projectId}/review`);
    await see(root.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage' })).visible();
    expect(await navLinks(root)).toEqual(['Projects', 'Annotate', 'Review', 'Manage']);
    await root.context().close();
  });

  it("a tab says it is loading while it waits for its data (a large project's statistics take seconds)", async () => {
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const stats = (url: URL) => url.pathname.endsWith('/stats');
    await page.route(stats, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${base}/projects/${projectId}/manage`);
    const panel = page.getByRole('tabpanel');
    await see(panel.getByRole('status').filter({ hasText: 'Loading…' })).visible();
    await see(panel).attr('aria-busy', 'true');
    release();
    await see(panel.locator('[data-stat="tasks-approved"]')).visible();
    await see(panel.getByText('Loading…')).count(0);
    expect(await panel.getAttribute('aria-busy')).toBeNull();
    await page.unroute(stats);
    await page.context().close();
  });

  it(`the Tasks tab lists the first ${PAGE} of ${SLICES} tasks with their count, and the rest with "Load more", filtered by state too`, async () => {
    const all = await tasks();
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await openTab(page, 'Tasks');
    const rows = page.locator('table.tasks tbody tr[data-task]');
    const more = page.getByRole('button', { name: 'Load more' });
    await see(rows).count(PAGE);
    await see(page.locator('.task-count')).text(`${PAGE} of ${SLICES} tasks`);
    expect(await shownTaskIds(page)).toEqual(all.slice(0, PAGE).map((t) => t.id));
    // A state picked whose list fails to load leaves the list on screen, with the filter that names it, and "Load
    // more" goes on with that list (it asked for the next page of the pick, after the last task of the unfiltered list).
    const filtered = (url: URL) => url.pathname.endsWith('/tasks') && url.searchParams.has('state');
    await page.route(filtered, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ statusCode: 503, message: 'Try again later' }) }));
    await page.getByLabel('Filter by state').selectOption('failed');
    await see(page.getByText('Try again later')).visible();
    await see(page.getByLabel('Filter by state')).value('');
    expect(new URL(page.url()).searchParams.has('state')).toBe(false);
    await page.unroute(filtered);
    await more.click();
    await see(rows).count(SLICES);
    await see(page.getByText('Try again later')).count(0);
    await see(page.locator('.task-count')).text(`All ${SLICES} tasks`);
    expect(await shownTaskIds(page)).toEqual(all.map((t) => t.id));
    await see(more).count(0);

    // Filtered on the state most tasks are in: its own pages and count; on failed (now in the list): none.
    const counts = new Map<string, number>();
    for (const t of all) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    const [state, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    const filter = page.getByLabel('Filter by state');
    await filter.selectOption(state);
    await see(rows).count(Math.min(n, PAGE));
    if (n > PAGE) {
      await see(page.locator('.task-count')).text(`${PAGE} of ${n} ${state.replace(/_/g, ' ')} tasks`);
      await more.click();
      await see(rows).count(n);
    }
    expect(await shownTaskIds(page)).toEqual(all.filter((t) => t.state === state).map((t) => t.id));
    await see(page.locator('.task-count')).text(`All ${n} ${state.replace(/_/g, ' ')} tasks`);
    // The filter is in the address (it was not: a reload showed every state): a reload shows the same list.
    expect(new URL(page.url()).searchParams.get('state')).toBe(state);
    await page.reload();
    await see(filter).value(state);
    await see(page.locator('.task-count')).text(n > PAGE ? `${PAGE} of ${n} ${state.replace(/_/g, ' ')} tasks` : `All ${n} ${state.replace(/_/g, ' ')} tasks`);
    expect(await shownTaskIds(page)).toEqual(all.filter((t) => t.state === state).slice(0, PAGE).map((t) => t.id));
    await filter.selectOption('failed');
    await see(page.getByText('No tasks.')).visible();
    await see(page.locator('.task-count')).text('All 0 failed tasks');
    expect(new URL(page.url()).searchParams.get('state')).toBe('failed');
    expect(new URL(page.url()).hash).toBe('#tasks');
    // All states: the filter leaves the address.
    await filter.selectOption('');
    await see(page.locator('.task-count')).text(`${PAGE} of ${SLICES} tasks`);
    expect(new URL(page.url()).searchParams.has('state')).toBe(false);
    await page.context().close();
  });

  it('the Audit tab lists the newest lines first, filters by action and person, and pages back with "Load older"', async () => {
    type Line = { id: string; action: string; actorId: string | null; actorName: string };
    const log = (await pm.request('GET', `/api/projects/${projectId}/audit?order=desc&limit=1000`)) as Line[];
    // The action with the most lines (the split's and routing's, one per task: more than a page of 50).
    const byAction = new Map<string, Line[]>();
    for (const l of log) byAction.set(l.action, [...(byAction.get(l.action) ?? []), l]);
    const [action, lines] = [...byAction.entries()].sort((a, b) => b[1].length - a[1].length)[0];
    expect(lines.length).toBeGreaterThan(50);
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await openTab(page, 'Audit');
    const rows = page.locator('table.audit tbody tr');
    const more = page.getByRole('button', { name: 'Load older' });
    await see(rows).count(50);
    // Newest first: the API's newest line is the first row.
    await see(rows.first().locator('td').nth(2)).text(log[0].action);
    // An action typed but not yet shown does not filter the older page of the list on screen (the oldest line's
    // action, the project's creation: the next page of the unfiltered list is other lines).
    const typed = log[log.length - 1].action;
    expect(log.slice(50, 100).some((l) => l.action !== typed)).toBe(true);
    await page.getByLabel('Action').fill(typed);
    await more.click();
    await see(rows).count(100);
    expect(await rows.locator('td:nth-child(3)').allTextContents()).toEqual(log.slice(0, 100).map((l) => l.action));
    await page.getByLabel('Action').fill(action);
    await page.getByRole('button', { name: 'Show' }).click();
    await see(rows).count(Math.min(50, lines.length));
    expect(await rows.locator('td:nth-child(3)').allTextContents()).toEqual(lines.slice(0, 50).map(() => action));
    await more.click();
    await see(rows).count(Math.min(100, lines.length));
    // The person filter: only the manager's own lines (the project's creation and set-up are theirs).
    await page.getByLabel('Action').fill('');
    const pmId = log.find((l) => l.actorName === 'pm')!.actorId!;
    await page.getByLabel('Person').selectOption(pmId);
    await page.getByRole('button', { name: 'Show' }).click();
    const mine = log.filter((l) => l.actorId === pmId);
    await see(rows).count(Math.min(50, mine.length));
    expect(new Set(await rows.locator('td:nth-child(2)').allTextContents())).toEqual(new Set(['pm']));
    await page.getByLabel('Object id').fill('no-such-object');
    await page.getByRole('button', { name: 'Show' }).click();
    await see(page.getByText('No audit lines match.')).visible();
    await page.context().close();
  });

  it("a task's row and history follow a change; an empty priority is refused with a message", async () => {
    const first = (await tasks())[0];
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await openTab(page, 'Tasks');
    const row = page.locator(`tr[data-task="${first.id}"]`);
    await row.getByRole('button', { name: /^Manage task/ }).click();
    const detail = page.locator('.task-detail');
    const priority = detail.getByLabel('Priority', { exact: true });
    await priority.fill('');
    await detail.getByRole('button', { name: 'Save priority' }).click();
    await see(detail.locator('.status-line.error')).contains('Enter the priority as a whole number from -1000 to 1000');
    await see(row.locator('td').nth(5)).text(String(first.priority));
    expect((await tasks()).find((t) => t.id === first.id)?.priority).toBe(first.priority);

    await priority.fill('7');
    await detail.getByRole('button', { name: 'Save priority' }).click();
    await see(detail.locator('.status-line.ok')).text('Priority saved');
    await see(row.locator('td').nth(5)).text('7');

    // A task that is not escalated or failed can only be cancelled here (approving one with no reads was offered).
    expect(await detail.getByLabel('Decision').locator('option').allTextContents()).toEqual(['Cancel']);
    await detail.getByLabel('Decision').selectOption('cancel');
    await detail.getByLabel('Comment').fill('Duplicate slice');
    await detail.getByRole('button', { name: 'Apply' }).click();
    await see(detail.locator('.status-line.ok')).text('Decision recorded');
    await see(row).attr('data-state', 'cancelled');
    await see(row.locator('.pill').first()).text('cancelled');
    await see(detail.locator('ol.history li').last()).contains('cancelled');
    await page.context().close();
  });

  it('the members list follows each removal and addition, and each row names its member to a screen reader', async () => {
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await openTab(page, 'Setup');
    const members = page.getByRole('region', { name: 'Members' });
    const memberRows = members.locator('tbody tr');
    await see(memberRows).count(2);
    await see(members.getByRole('button', { name: 'Save ann' })).visible();
    await see(members.getByRole('button', { name: 'Save pm' })).visible();

    await members.getByRole('button', { name: 'Remove ann' }).click();
    await see(members.locator('.status-line.ok')).text('Removed ann.');
    await see(memberRows).count(1);
    await see(members.getByRole('rowheader', { name: 'ann', exact: true })).count(0);

    await members.getByLabel('Add', { exact: true }).selectOption({ label: 'ann (annotator)' });
    await members.getByRole('button', { name: 'Add member' }).click();
    await see(members.locator('.status-line.ok')).text('Added ann.');
    await see(memberRows).count(2);
    await see(members.getByRole('checkbox', { name: 'ann is annotator' })).checked(true);
    expect((await pm.request('GET', `/api/projects/${projectId}/members`)).map((m: { username: string }) => m.username).sort()).toEqual(['ann', 'pm']);
    await page.context().close();
  });

  it('Setup: an emptied number field is refused with its name and range (it was saved as 0), and the lease is checked in the minutes it is typed in', async () => {
    const quality = async () => (await pm.request('GET', `/api/projects/${projectId}`)).settings.quality;
    const before = await quality();
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await openTab(page, 'Setup');
    const form = page.getByRole('region', { name: 'Quality and routing settings' });
    const status = form.locator('.status-line');
    const save = form.getByRole('button', { name: 'Save settings' });
    await form.getByLabel('Agreement threshold').fill('');
    await save.click();
    await see(status).text('Enter the agreement threshold as a number from 0 to 1.');
    expect(await quality()).toEqual(before);
    await form.getByLabel('Agreement threshold').fill('0.65');
    await form.getByLabel('Lease length (minutes)').fill('0');
    await save.click();
    await see(status).text('The lease length is a whole number from 1 to 10080 minutes (got 0).');
    expect(await quality()).toEqual(before);
    await form.getByLabel('Lease length (minutes)').fill('45');
    await save.click();
    await see(status).text('Settings saved.');
    expect(await quality()).toEqual({ ...before, agreementThreshold: 0.65, leaseSeconds: 2700 });
    await page.context().close();
  });

  it('Data: a double-clicked upload sends the files once and empties the file field; a blank AE title is refused before any request', async () => {
    const before = ((await pm.request('GET', `/api/projects/${projectId}/uploads`)) as unknown[]).length;
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await openTab(page, 'Data');
    const upload = page.getByRole('region', { name: 'Upload' });
    const slice = ctPhantomSeries({ seed: 'manager-ui-e2e-upload', slices: 1, rows: 8, columns: 8, pixelSpacing: 40, patient: { name: 'Upload^Once', id: 'P-ONCE' } }).files[0];
    await upload.getByLabel('Files to upload').setInputFiles({ name: 'once.dcm', mimeType: 'application/dicom', buffer: slice });
    await upload.getByRole('button', { name: 'Upload', exact: true }).dblclick();
    // "Received 1 file(s); processing…", then what became of it (the line said "processing…" for good).
    await see(upload.locator('.status-line.ok')).text('Processed 1 file(s): stored 1, duplicate 0, quarantined 0.');
    expect(await upload.getByLabel('Files to upload').inputValue()).toBe('');
    // Both clicks had their chance to send by now (the second one, had it gone, would be a second batch).
    await page.waitForTimeout(500);
    expect(((await pm.request('GET', `/api/projects/${projectId}/uploads`)) as unknown[]).length).toBe(before + 1);

    const sources = page.getByRole('region', { name: 'Sources' });
    const requests: string[] = [];
    page.on('request', (r) => r.method() === 'PUT' && requests.push(r.url()));
    await sources.getByLabel('Calling AE title').fill('   ');
    await sources.getByRole('button', { name: 'Route AE title here' }).click();
    await see(page.locator('.status-line.error')).contains('Enter the calling AE title');
    expect(requests).toEqual([]);
    await page.context().close();
  });

  it('Data: a quarantined file is sent through again from its row once its reason is dealt with (the reason said "re-process", the page had no way to)', async () => {
    const other = (await pm.request('POST', '/api/projects', { name: 'MR only', settings: { expectedModalities: ['MR'] } })).id;
    const slice = ctPhantomSeries({ seed: 'manager-ui-e2e-quarantine', slices: 1, rows: 8, columns: 8, pixelSpacing: 40, patient: { name: 'Quarantine^Once', id: 'P-Q' } }).files[0];
    const { batchId } = await pm.upload(other, [{ name: 'ct.dcm', data: slice }]);
    await eventually(async () => (await pm.request('GET', `/api/projects/${other}/uploads/${batchId}`)).done, 30_000, 250);
    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await page.goto(`${base}/projects/${other}/manage`);
    await page.getByRole('tab', { name: 'Data' }).click();
    const quarantine = page.getByRole('region', { name: 'Quarantine' });
    await see(quarantine.locator('tbody tr')).count(1);
    await see(quarantine.locator('tbody tr')).contains("add CT to the project's expected modalities and re-process");
    await pm.request('PATCH', `/api/projects/${other}`, { settings: { expectedModalities: ['MR', 'CT'] } });
    await quarantine.getByRole('button', { name: 'Re-process ct.dcm' }).click();
    await see(quarantine.locator('.status-line.ok')).text('Sent ct.dcm to be processed again.');
    await see(quarantine.getByText('Nothing is quarantined.')).visible();
    const stored = await eventually(async () => {
      const items = (await pm.request('GET', `/api/projects/${other}/uploads/${batchId}?items=true`)).items as { fileName: string; status: string }[];
      return items.every((i) => i.status === 'stored') ? items : null;
    }, 30_000, 250);
    expect(stored.map((i) => i.fileName)).toEqual(['ct.dcm']);
    await page.context().close();
  });
});
