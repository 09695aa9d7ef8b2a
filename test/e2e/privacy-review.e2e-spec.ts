// The manager's privacy review in a real Chromium against the built coordinator and worker processes: two CT
// series that declare burned-in annotation (Burned In Annotation YES) are held from annotators while a clean one
// gets its task; in the Data tab the manager sees the held images, the oldest page first, each with its preview
// (the WADO-RS rendered PNG, fetched with the session's Bearer token), excludes one series' images with a comment,
// clears the other's with the keyboard (the focus moves on to the next image), the mouse and the series button, and
// the cleared series gets its task while the excluded one never does; one image excluded from the cleared series
// leaves it annotatable, and the annotator's viewer says that slice is blank. axe-core checks the tab and the viewer.
import { Browser, Page } from 'playwright-core';
import { ctPhantomSeries } from '@contour/dicom';
import { assertBrowserTestPrerequisites, checkAxe, launchChromium, ownDatabase, see, signInPage } from '../support/browser';
import { ApiClient, RunningContour, startContour } from '../support/processes';
import { eventually } from '../support/system';

const PASSWORD = 'privacy-e2e-password';
/** Rows the Data tab shows at once (apps/web/src/workspaces/privacy-review.ts). */
const PAGE = 20;
const SIZE = { rows: 32, columns: 32, pixelSpacing: 10, sliceThickness: 5 };
const CLEARED_SLICES = 22;
const EXCLUDED_SLICES = 2;

interface Held {
  id: string;
  seriesId: string;
  seriesInstanceUid: string;
  review: { decision: string; comment: string; by: string } | null;
}

describe('privacy review in the browser: held images with burned-in text, previews, exclude and clear', () => {
  let db: { url: string; close(): Promise<void> };
  let contour: RunningContour;
  let base: string;
  let pm: ApiClient;
  let admin: ApiClient;
  let browser: Browser;
  let projectId: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    assertBrowserTestPrerequisites();
    db = await ownDatabase('privacy');
    contour = await startContour(db.url);
    base = contour.baseUrl;
    admin = await new ApiClient(base).login('admin', contour.env.CONTOUR_ADMIN_PASSWORD!);
    await admin.request('POST', '/api/users', { username: 'pm', password: PASSWORD, roles: ['manager'], skills: [] });
    pm = await new ApiClient(base).login('pm', PASSWORD);
    projectId = (await pm.request('POST', '/api/projects', { name: 'Head CT', settings: { quality: { reads: 1, reviewRequired: false }, split: { policy: 'series' } } })).id;
    await pm.request('POST', `/api/projects/${projectId}/protocols`, { labels: [{ id: 1, name: 'Lesion', color: '#ef4444' }], annotationTypes: [{ kind: 'segmentation-3d' }] });
    // One upload after the other: the review lists the oldest first, so the excluded series comes first.
    for (const [seed, slices, burnedInAnnotation] of [['clean', 3, undefined], ['excluded', EXCLUDED_SLICES, 'YES'], ['cleared', CLEARED_SLICES, 'YES']] as const) {
      const series = ctPhantomSeries({ seed: `privacy-e2e-${seed}`, slices, ...SIZE, burnedInAnnotation, patient: { name: `Privacy^${seed}`, id: `P-${seed}` } });
      const { batchId } = await pm.upload(projectId, series.files.map((data, i) => ({ name: `${seed}-${i}.dcm`, data })));
      await eventually(async () => (await pm.request('GET', `/api/projects/${projectId}/uploads/${batchId}`)).done, 60_000, 250);
    }
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await contour?.stop();
    await db?.close();
  });

  const tasks = async () => (await pm.request('GET', `/api/projects/${projectId}/tasks`)) as { id: string; privacyHeld: boolean }[];
  const review = async (state: 'pending' | 'decided', limit = 100) => (await pm.request('GET', `/api/projects/${projectId}/privacy-review?state=${state}&limit=${limit}`)) as { total: number; items: Held[] };
  /** The data-instance of the table row holding the keyboard focus. */
  const focusedRow = (page: Page) => page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-instance') ?? null);

  it('the clean series gets its task; the two series with burned-in text wait, image by image', async () => {
    await eventually(async () => ((await tasks()).length === 1 ? true : null), 60_000, 250);
    const held = await eventually(async () => {
      const r = await review('pending');
      return r.total === EXCLUDED_SLICES + CLEARED_SLICES ? r : null;
    }, 30_000, 250);
    const bySeries = new Set(held.items.map((i) => i.seriesInstanceUid));
    expect(bySeries.size).toBe(2);
  });

  it('the manager sees the held images with previews, excludes one series with a comment, clears the other, and its task is made', async () => {
    const held = (await review('pending')).items;
    const excludedSeries = held[0].seriesInstanceUid;
    const excluded = held.filter((i) => i.seriesInstanceUid === excludedSeries);
    const cleared = held.filter((i) => i.seriesInstanceUid !== excludedSeries);
    expect([excluded.length, cleared.length]).toEqual([EXCLUDED_SLICES, CLEARED_SLICES]);
    const tasksBefore = (await tasks()).map((t) => t.id);

    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await page.goto(`${base}/projects/${projectId}/manage`);
    await page.getByRole('tab', { name: 'Data' }).click();
    const section = page.getByRole('region', { name: 'Privacy review' });
    const rows = section.locator('tbody tr');
    const caption = section.locator('caption');
    await see(rows).count(PAGE);
    await see(caption).text(`The oldest ${PAGE} of ${EXCLUDED_SLICES + CLEARED_SLICES} images waiting for a privacy review`);
    expect(await caption.evaluate((c) => c.classList.contains('visually-hidden'))).toBe(false);
    // Every preview loaded: the rendered PNG of a 32 x 32 image, shown from an object URL, with a text alternative.
    await page.waitForFunction(
      (n) => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('[data-section="privacy-review"] tbody img')];
        return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      PAGE,
      { timeout: 60_000 },
    );
    const previews = await section.locator('tbody img').evaluateAll((imgs) => imgs.map((i) => ({ width: (i as HTMLImageElement).naturalWidth, height: (i as HTMLImageElement).naturalHeight, src: i.getAttribute('src') ?? '', alt: i.getAttribute('alt') ?? '' })));
    for (const p of previews) {
      expect([p.width, p.height]).toEqual([SIZE.columns, SIZE.rows]);
      expect(p.src).toMatch(/^blob:/);
      expect(p.alt).toMatch(/^Preview of image …\S+ of series …\S+$/);
    }
    await see(rows.first().locator('td').nth(3)).text('CT');
    await see(rows.first()).contains('Declares burned-in text');
    await checkAxe(page, 'manager-privacy-review');
    // A closer look: the same image full size in a dialog.
    await rows.first().getByRole('button', { name: 'Full size' }).click();
    const full = page.getByRole('dialog', { name: /full size$/ });
    await see(full.locator('img')).visible();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('dialog[open] img')?.naturalWidth ?? 0) > 0);
    await full.getByRole('button', { name: 'Close' }).click();
    await see(page.getByRole('dialog')).count(0);

    // Exclude the first series' images, each with a comment; the row leaves and the focus goes to the next one.
    for (const image of excluded) {
      const row = section.locator(`tr[data-instance="${image.id}"]`);
      const next = await row.evaluate((tr) => (tr.nextElementSibling as HTMLElement | null)?.dataset.instance ?? null);
      await row.getByLabel(/^Comment on image/).fill('Patient name in the top corner');
      await row.getByRole('button', { name: 'Exclude' }).click();
      await see(row).count(0);
      await see(section.locator('.status-line.ok')).contains('excluded: annotators and reviewers will never see it; the rest of its series is annotated with it blanked.');
      expect(await focusedRow(page)).toBe(next);
    }
    await see(page.locator('#live')).contains('excluded');
    // The next images move up into the page.
    await see(caption).text(`The oldest ${PAGE} of ${CLEARED_SLICES} images waiting for a privacy review`);
    await see(rows).count(PAGE);

    // Clear the rest: the first two by keyboard from the comment field that has the focus, then one with the mouse;
    // then one image of this series is excluded after all (its series still gets its task, with that slice blank);
    // then the other 18 are cleared with the series button.
    let excludedToo = '';
    for (let i = 0; i < 4; i++) {
      if (i < 2) {
        const id = await focusedRow(page);
        expect(id).toBe(await rows.first().getAttribute('data-instance'));
        await page.keyboard.type('No text in the pixels');
        await page.keyboard.press('Tab');
        await page.keyboard.press('Enter');
        await see(section.locator(`tr[data-instance="${id}"]`)).count(0);
        await see(section.locator('.status-line.ok')).contains('cleared for annotation.');
      } else if (i === 2) {
        const row = rows.first();
        const id = await row.getAttribute('data-instance');
        await row.getByRole('button', { name: 'Clear for annotation' }).click();
        await see(section.locator(`tr[data-instance="${id}"]`)).count(0);
        await see(section.locator('.status-line.ok')).contains('cleared for annotation.');
      } else {
        const row = rows.first();
        excludedToo = (await row.getAttribute('data-instance'))!;
        await row.getByLabel(/^Comment on image/).fill('A name on this one');
        await row.getByRole('button', { name: 'Exclude' }).click();
        await see(section.locator(`tr[data-instance="${excludedToo}"]`)).count(0);
        await see(section.locator('.status-line.ok')).contains('the rest of its series is annotated with it blanked.');
      }
      if (CLEARED_SLICES - i - 1 === PAGE) await see(caption).text('Images waiting for a privacy review');
    }
    await see(rows).count(CLEARED_SLICES - 4);
    await rows.first().getByLabel(/^Comment on image/).fill('Whole series checked');
    await rows.first().getByRole('button', { name: 'Clear its whole series' }).click();
    await see(section.locator('.status-line.ok')).contains(`${CLEARED_SLICES - 4} images of series`);
    await see(section.getByText('No images waiting for a privacy review.')).visible();
    await see(rows).count(0);
    // The last row's focus went back to the section's heading.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Privacy review');
    await checkAxe(page, 'manager-privacy-review-done');

    // The decisions as recorded, with their comments.
    const decided = await review('decided');
    expect(decided.total).toBe(EXCLUDED_SLICES + CLEARED_SLICES);
    const byId = new Map(decided.items.map((i) => [i.id, i.review]));
    for (const image of excluded) expect(byId.get(image.id)).toMatchObject({ decision: 'exclude', comment: 'Patient name in the top corner', by: 'pm' });
    for (const image of cleared) expect(byId.get(image.id)).toMatchObject({ decision: image.id === excludedToo ? 'exclude' : 'clear', by: 'pm' });
    expect(cleared.filter((image) => byId.get(image.id)?.comment === 'No text in the pixels')).toHaveLength(2);
    expect(cleared.filter((image) => byId.get(image.id)?.comment === 'Whole series checked')).toHaveLength(CLEARED_SLICES - 4);
    expect((await review('pending')).total).toBe(0);

    // The cleared series is split again by the worker: its task is the second one, its excluded image listed; the
    // series whose images were all excluded has none.
    const after = await eventually(async () => {
      const t = await tasks();
      return t.length === 2 ? t : null;
    }, 30_000, 250);
    const made = after.filter((t) => !tasksBefore.includes(t.id));
    expect(made).toHaveLength(1);
    const detail = await pm.request('GET', `/api/projects/${projectId}/tasks/${made[0].id}`);
    expect(detail.series.map((s: { id: string }) => s.id)).toEqual([cleared[0].seriesId]);
    expect(detail.series[0].geometry.excluded).toEqual([excludedToo]);
    await page.context().close();

    // An annotator opens that task (raised above the clean one): the viewer shows the series, and says that one of
    // its images was excluded and is blank.
    const ann = await admin.request('POST', '/api/users', { username: 'ann', password: PASSWORD, roles: ['annotator'], skills: [] });
    await pm.request('PUT', `/api/projects/${projectId}/members/${ann.id}`, { roles: ['annotator'] });
    await pm.request('PATCH', `/api/projects/${projectId}/tasks/${made[0].id}`, { priority: 100 });
    const annotator = await signInPage(browser, base, 'ann', PASSWORD, (m) => pageErrors.push(m));
    await annotator.goto(`${base}/projects/${projectId}/annotate`);
    await annotator.getByRole('button', { name: 'Next task' }).click();
    await annotator.waitForFunction(() => (window as unknown as { contour?: { kind?: string } }).contour?.kind === 'annotation', null, { timeout: 60_000 });
    await see(annotator.getByRole('note')).text('1 image of this series was excluded after a privacy review: its slice is blank.');
    await checkAxe(annotator, 'annotator-excluded-image-note');
    await annotator.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('a task made before the project held its images shows its privacy hold in the manager\'s task list', async () => {
    const hold = (burnedInHold: string) => pm.request('PATCH', `/api/projects/${projectId}`, { settings: { deid: { burnedInHold } } });
    await hold('none');
    const known = (await tasks()).map((t) => t.id);
    const series = ctPhantomSeries({ seed: 'privacy-e2e-late', slices: 2, ...SIZE, burnedInAnnotation: 'YES', patient: { name: 'Privacy^late', id: 'P-late' } });
    const { batchId } = await pm.upload(projectId, series.files.map((data, i) => ({ name: `late-${i}.dcm`, data })));
    await eventually(async () => (await pm.request('GET', `/api/projects/${projectId}/uploads/${batchId}`)).done, 60_000, 250);
    const late = await eventually(async () => (await tasks()).find((t) => !known.includes(t.id)) ?? null, 60_000, 250);
    expect(late.privacyHeld).toBe(false);
    await hold('declared');
    await eventually(async () => ((await tasks()).find((t) => t.id === late.id)?.privacyHeld ? true : null), 60_000, 250);

    const page = await signInPage(browser, base, 'pm', PASSWORD, (m) => pageErrors.push(m));
    await page.goto(`${base}/projects/${projectId}/manage`);
    await page.getByRole('tab', { name: 'Tasks' }).click();
    const row = page.locator(`tr[data-task="${late.id}"]`);
    await see(row.locator('.pill.privacy-held')).text('privacy hold');
    await see(row.locator('.pill.privacy-held')).attr('title', /privacy review/);
    // Only the held task carries the mark.
    await see(page.locator('.pill.privacy-held')).count(1);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
