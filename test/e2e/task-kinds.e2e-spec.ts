// Tasks other than a whole series, and the review that follows an adjudication, in a real Chromium against the built
// coordinator and worker processes. A reviewer of the web app found both broken in the browser: an image task (one
// slice of a series, split per image) got the whole series as its mask grid, so every draft and submission was refused
// (and the refusal shown as a lost lease); and the reviewer of an adjudicated task started from the merged mask, not
// the adjudicator's, and had no way back to a review they had left. Also the pages that had no browser form at all:
// starting a project (managers), and adding and changing users (admins).
import { inflateSync } from 'node:zlib';
import { Browser } from 'playwright-core';
import { ctPhantomSeries } from '@contour/dicom';
import { assertBrowserTestPrerequisites, checkAxe, launchChromium, ownDatabase, see, signInPage } from '../support/browser';
import { discMask, maskBody } from '../support/masks';
import { ApiClient, RunningContour, startContour } from '../support/processes';
import { eventually } from '../support/system';

const PASSWORD = 'task-kinds-e2e-password';
const SIZE = { rows: 32, columns: 32, pixelSpacing: 8, sliceThickness: 5 };

/** The workspace's test hook (apps/web/src/workspaces/task-images.ts exposeForTests), as this file reads it. */
type Hooked = { contour?: { viewer: any; grid?: { dims: number[]; z0: number }; kind: string } };

describe('browser: image tasks of a series, and the review after an adjudication', () => {
  let db: { url: string; close(): Promise<void> };
  let contour: RunningContour;
  let base: string;
  let admin: ApiClient;
  let pm: ApiClient;
  let browser: Browser;
  let imageProject: string;
  let adjudicatedProject: string;
  const users: Record<string, { id: string }> = {};
  const pageErrors: string[] = [];

  beforeAll(async () => {
    assertBrowserTestPrerequisites();
    db = await ownDatabase('taskkinds');
    contour = await startContour(db.url, { DICOM_ENABLED: 'false' });
    base = contour.baseUrl;
    admin = await new ApiClient(base).login('admin', contour.env.CONTOUR_ADMIN_PASSWORD!);
    for (const [username, roles] of [['pm', ['manager']], ['ann1', ['annotator']], ['ann2', ['annotator']], ['rev1', ['reviewer']], ['rev2', ['reviewer']]] as const) {
      users[username] = await admin.request('POST', '/api/users', { username, password: PASSWORD, roles, skills: [] });
    }
    pm = await new ApiClient(base).login('pm', PASSWORD);
    const project = async (name: string, settings: Record<string, unknown>, members: [string, string][]) => {
      const id = (await pm.request('POST', '/api/projects', { name, settings })).id as string;
      for (const [u, role] of members) await pm.request('PUT', `/api/projects/${id}/members/${users[u].id}`, { roles: [role] });
      await pm.request('POST', `/api/projects/${id}/protocols`, { labels: [{ id: 1, name: 'Lesion', color: '#ef4444' }], annotationTypes: [{ kind: 'segmentation-3d' }] });
      return id;
    };
    imageProject = await project('Per image', { quality: { reads: 1, reviewRequired: false }, split: { policy: 'image' } }, [['ann1', 'annotator']]);
    adjudicatedProject = await project('Adjudicated', { quality: { reads: 2, agreementThreshold: 0.99, mergeMethod: 'majority', reviewRequired: true }, split: { policy: 'series' } }, [
      ['ann1', 'annotator'],
      ['ann2', 'annotator'],
      ['rev1', 'reviewer'],
      ['rev2', 'reviewer'],
    ]);
    for (const [id, seed, slices] of [[imageProject, 'per-image', 5], [adjudicatedProject, 'adjudicated', 3]] as const) {
      const series = ctPhantomSeries({ seed: `task-kinds-${seed}`, slices, ...SIZE, patient: { name: `Kinds^${seed}`, id: `K-${seed}` } });
      await pm.upload(id, series.files.map((data, i) => ({ name: `${seed}-${i}.dcm`, data })));
    }
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await contour?.stop();
    await db?.close();
  });

  const tasks = async (projectId: string, state = 'ready') => (await pm.request('GET', `/api/projects/${projectId}/tasks?state=${state}`)) as { id: string }[];
  const mask = async (projectId: string, taskId: string, versionId: string) => {
    const res = await fetch(`${base}/api/projects/${projectId}/tasks/${taskId}/labels/${versionId}`, { headers: { authorization: `Bearer ${pm.token}` } });
    expect(res.status).toBe(200);
    return new Uint8Array(inflateSync(Buffer.from(await res.arrayBuffer())));
  };
  const signIn = (username: string) => signInPage(browser, base, username, PASSWORD, (m) => pageErrors.push(m));

  it('an image task of a series opens on its own slice, and its painted mask (one slice) is saved and submitted', async () => {
    const all = await eventually(async () => {
      const t = await tasks(imageProject);
      return t.length === 5 ? t : null;
    }, 90_000, 250);
    // The task of the series' first slice, given to ann1 so that "Next task" hands out that one: the viewer, which
    // loads the series centred on its middle slice, must move to it.
    const details = await Promise.all(all.map((t) => pm.request('GET', `/api/projects/${imageProject}/tasks/${t.id}`)));
    const first = details.find((d) => d.series[0].geometry.order[0] === d.instanceId);
    await pm.request('POST', `/api/projects/${imageProject}/tasks/assign`, { userId: users.ann1.id, taskIds: [first.id] });
    const page = await signIn('ann1');
    await page.goto(`${base}/projects/${imageProject}/annotate`);
    await page.getByRole('button', { name: 'Next task' }).click();
    await page.waitForFunction(() => (window as unknown as Hooked).contour?.kind === 'annotation', null, { timeout: 60_000 });
    const [, , , taskId, readId] = new URL(page.url()).pathname.split('/').slice(1);
    const detail = await pm.request('GET', `/api/projects/${imageProject}/tasks/${taskId}`);
    expect(detail.kind).toBe('image');
    expect(taskId).toBe(first.id);
    const z0 = 0;
    expect(await page.evaluate(() => (window as unknown as Hooked).contour!.grid)).toEqual({ dims: [SIZE.columns, SIZE.rows, 1], z0 });
    // The viewer opened on the task's slice (the series volume loads centred on its middle slice).
    expect(await page.evaluate(() => (window as unknown as Hooked).contour!.viewer.location().voxel[2])).toBe(z0);
    // Paint a 3 x 3 patch on that slice, then save the draft and submit, as the buttons do.
    await page.evaluate(
      ([z, nx, ny]) => {
        const v = (window as unknown as Hooked).contour!.viewer;
        const m = new Uint8Array(nx * ny * v.dims[2]);
        for (let y = 14; y < 17; y++) for (let x = 14; x < 17; x++) m[x + nx * (y + ny * z)] = 1;
        v.setMask(m);
      },
      [z0, SIZE.columns, SIZE.rows],
    );
    await page.keyboard.press('Control+s');
    await see(page.locator('.status-line.ok')).contains('Draft saved.');
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await page.locator('.status-line.ok', { hasText: 'Submitted' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('[role="alert"]', { hasText: /lease/i }).count()).toBe(0);
    const after = await pm.request('GET', `/api/projects/${imageProject}/tasks/${taskId}`);
    const read = after.reads.find((r: { id: string }) => r.id === readId);
    expect(read.state).toBe('submitted');
    const stored = await mask(imageProject, taskId, read.labelVersionId);
    expect(stored.length).toBe(SIZE.columns * SIZE.rows);
    expect(stored.reduce((n, v) => n + (v === 1 ? 1 : 0), 0)).toBe(9);
    expect(stored[15 + SIZE.columns * 15]).toBe(1);
    await page.context().close();
  });

  it('a manager starts a project from the project list and lands on its dashboard; a taken name says so; annotators get no form', async () => {
    const page = await signIn('pm');
    await page.goto(`${base}/`);
    const form = page.getByRole('form', { name: 'New project' });
    await form.getByLabel('New project').fill('Started in the browser');
    await form.getByLabel('Description (optional)').fill('Liver lesions on portal venous CT');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/projects\/[0-9a-f-]{36}\/manage$/);
    const id = new URL(page.url()).pathname.split('/')[2];
    const project = await pm.request('GET', `/api/projects/${id}`);
    expect(project).toMatchObject({ name: 'Started in the browser', description: 'Liver lesions on portal venous CT' });
    await page.goto(`${base}/`);
    await form.getByLabel('New project').fill('Started in the browser');
    await form.getByRole('button', { name: 'Create' }).click();
    await see(form.locator('.status-line.error')).contains('A project named "Started in the browser" already exists');
    // The longest name, one word: it wraps inside its card (it ran out of it).
    const long = `Started${'x'.repeat(193)}`;
    await pm.request('POST', '/api/projects', { name: long });
    await page.reload();
    const card = page.locator('li.card.project', { has: page.getByRole('heading', { name: long }) });
    await see(card).visible();
    expect(await card.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await checkAxe(page, 'home-new-project');
    await page.context().close();
    const annotator = await signIn('ann1');
    await annotator.goto(`${base}/`);
    await see(annotator.getByRole('heading', { name: 'Per image' })).visible();
    expect(await annotator.getByRole('form', { name: 'New project' }).count()).toBe(0);
    await annotator.context().close();
  });

  it('an admin adds a user on the Users page, changes their roles and skills and disables them; a name taken in another case is refused', async () => {
    const page = await signInPage(browser, base, 'admin', contour.env.CONTOUR_ADMIN_PASSWORD!, (m) => pageErrors.push(m));
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(`${base}/users`);
    const form = page.getByRole('form', { name: 'Add a user' });
    // The browser checks the name as typed (its pattern is compiled with the v flag, where an unescaped "-" in a class
    // is an error: the check never ran).
    const mismatch = () => form.getByLabel('Username').evaluate((el) => (el as HTMLInputElement).validity.patternMismatch);
    for (const [typed, wrong] of [['a b', true], ['x', true], ['bob<b>', true], ['dana-reader_2.x', false]] as const) {
      await form.getByLabel('Username').fill(typed);
      expect({ typed, wrong: await mismatch() }).toEqual({ typed, wrong });
    }
    await form.getByLabel('Username').fill('Dana.Reader');
    await form.getByLabel('First password (8 characters or more)').fill('dana-first-password');
    await form.getByRole('checkbox', { name: 'reviewer' }).check();
    await form.getByRole('button', { name: 'Add user' }).click();
    await see(form.locator('.status-line.ok')).contains('Added Dana.Reader.');
    const row = page.locator('tr[data-user="Dana.Reader"]');
    await see(row).visible();
    expect(await row.getByRole('checkbox', { name: 'annotator' }).isChecked()).toBe(true);
    expect(await row.getByRole('checkbox', { name: 'reviewer' }).isChecked()).toBe(true);
    // The account works; then the admin takes annotation away, adds a skill and disables it.
    await new ApiClient(base).login('dana.reader', 'dana-first-password');
    await row.getByRole('checkbox', { name: 'annotator' }).uncheck();
    await row.getByLabel('Skills of Dana.Reader').fill('Neuro-MR, mammography');
    await row.getByLabel('Dana.Reader may sign in').uncheck();
    await row.getByRole('button', { name: 'Save Dana.Reader' }).click();
    await see(page.locator('.status-line.ok', { hasText: 'Saved Dana.Reader' })).contains('they can no longer sign in');
    const stored = ((await admin.request('GET', '/api/users')) as { username: string; roles: string[]; skills: string[]; active: boolean }[]).find((u) => u.username === 'Dana.Reader');
    expect(stored).toMatchObject({ roles: ['reviewer'], skills: ['neuro-mr', 'mammography'], active: false });
    await expect(new ApiClient(base).login('Dana.Reader', 'dana-first-password')).rejects.toThrow(/401/);
    await form.getByLabel('Username').fill('dana.READER');
    await form.getByLabel('First password (8 characters or more)').fill('other-password');
    await form.getByRole('button', { name: 'Add user' }).click();
    await see(form.locator('.status-line.error')).contains('usernames are compared without case');
    await checkAxe(page, 'admin-users');
    await page.context().close();
  });

  let reviewUrl = '';
  it("after an adjudication the reviewer starts from the adjudicator's mask, and can come back to a review they left", async () => {
    const [task] = await eventually(async () => {
      const t = await tasks(adjudicatedProject);
      return t.length === 1 ? t : null;
    }, 90_000, 250);
    const dims: [number, number, number] = [SIZE.columns, SIZE.rows, 3];
    // Two reads that barely overlap: agreement below the threshold, so the task goes to adjudication.
    for (const [u, cx] of [['ann1', 8], ['ann2', 24]] as const) {
      const client = await new ApiClient(base).login(u, PASSWORD);
      const lease = await client.request('POST', `/api/projects/${adjudicatedProject}/tasks/next`);
      expect(lease.taskId).toBe(task.id);
      await client.request('POST', `/api/projects/${adjudicatedProject}/reads/${lease.readId}/submit`, { mask: maskBody(discMask(dims, cx, 16, 5)) });
    }
    await eventually(async () => ((await tasks(adjudicatedProject, 'adjudication')).length === 1 ? true : null), 60_000, 250);
    const rev1 = await new ApiClient(base).login('rev1', PASSWORD);
    const adjudication = await rev1.request('POST', `/api/projects/${adjudicatedProject}/reviews/next`);
    expect(adjudication.kind).toBe('adjudication');
    const final = discMask(dims, 16, 16, 3);
    await rev1.request('POST', `/api/projects/${adjudicatedProject}/reads/${adjudication.readId}/adjudicate`, { mask: maskBody(final) });
    await eventually(async () => ((await tasks(adjudicatedProject, 'review')).length === 1 ? true : null), 60_000, 250);

    // rev2 reviews in the browser: the editable layer is the adjudicated mask, named so.
    const page = await signIn('rev2');
    await page.goto(`${base}/projects/${adjudicatedProject}/review`);
    await page.getByRole('button', { name: 'Next review' }).click();
    await page.waitForFunction(() => (window as unknown as Hooked).contour?.kind === 'review', null, { timeout: 60_000 });
    reviewUrl = new URL(page.url()).pathname;
    const shown = (await page.evaluate(() => Array.from((window as unknown as Hooked).contour!.viewer.getMask() as Uint8Array))) as number[];
    expect(shown).toEqual(Array.from(final));
    await see(page.getByText('Adjudicated result (editable)')).visible();
    await see(page.getByText('Final mask starts from the adjudicated result.')).visible();
    // The agreement that sent it to adjudication is shown against the project's threshold (it was always green).
    const badge = page.locator('.agreement-badge');
    await see(badge).contains('threshold 0.990');
    expect(await badge.evaluate((b) => b.classList.contains('below'))).toBe(true);

    // Leaving the page keeps the lease; the review page lists it with a way back (Next review would hand out another).
    await page.goto(`${base}/projects/${adjudicatedProject}/review`);
    const held = page.getByRole('region', { name: 'Reviews and adjudications you hold' });
    await see(held.getByRole('cell', { name: 'review' })).visible();
    await checkAxe(page, 'reviewer-queue-in-progress');
    await page.evaluate(() => delete (window as unknown as Hooked).contour);
    await held.getByRole('link', { name: /^Continue the review of task/ }).click();
    await page.waitForFunction(() => (window as unknown as Hooked).contour?.kind === 'review', null, { timeout: 60_000 });
    expect(new URL(page.url()).pathname).toBe(reviewUrl);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
