// `npm start` as a new user runs it: no DATABASE_URL (embedded PostgreSQL under the data dir), the launcher
// finds Redis, generates the JWT secret and the admin password, starts coordinator + worker, and a restart
// keeps the data.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { dataPath, redisUrl, uniquePrefix } from '../support/env';
import { ApiClient, freePort, launcherScript, startProcess, waitForHealthy } from '../support/processes';
import { eventually } from '../support/system';

describe('npm start (launcher with embedded PostgreSQL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'contour-launch-'));
  let port: number;
  let dicomPort: number;
  const env = () => ({
    DATABASE_URL: '',
    JWT_SECRET: '',
    CONTOUR_ADMIN_PASSWORD: '',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: uniquePrefix('launch'),
    CONTOUR_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    DICOM_PORT: String(dicomPort),
  });

  beforeAll(async () => {
    port = await freePort();
    dicomPort = await freePort();
  });

  it('starts everything, prints the admin login once, ingests a file, and keeps data across a restart', async () => {
    const first = startProcess(launcherScript, [], env());
    const [, password] = await first.waitForOutput(/username "admin", password "([^"]+)"/, 120_000);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealthy(base);
    expect(first.output()).toMatch(/Embedded PostgreSQL \(PGlite\) running/);
    // First run: the demo project, its people (credentials printed once) and pre-labelled phantom tasks.
    const [, annotatorPassword] = await first.waitForOutput(/demo-annotator1\s+(\S+)/, 60_000);
    const demo = await new ApiClient(base).login('demo-annotator1', annotatorPassword).catch(async (e: Error) => {
      await new Promise((r) => setTimeout(r, 1000));
      throw new Error(`${e.message}\nlauncher output:\n${first.output().slice(-4000)}`);
    });
    const [demoProject] = await demo.request('GET', '/api/projects');
    expect(demoProject.name).toBe('Demo: chest CT phantom');
    const lease = await eventually(async () => {
      const res = await fetch(`${base}/api/projects/${demoProject.id}/tasks/next`, { method: 'POST', headers: { authorization: `Bearer ${demo.token}` } });
      return res.status === 200 ? res.json() : null;
    }, 120_000, 1000);
    const draft = lease.task.labels.find((l: { kind: string }) => l.kind === 'draft');
    if (!draft) throw new Error(`no draft on the leased demo task: ${JSON.stringify(lease.task).slice(0, 1000)}\n${first.output().slice(-3000)}`);
    expect(draft.model.name).toBe('ct-starter-rules');
    expect(draft.stats.voxels['1']).toBeGreaterThan(0);
    // The web app is served at /.
    const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    expect(await page.text()).toMatch(/<title>Contour/);
    const api = await new ApiClient(base).login('admin', password);
    const project = await api.request('POST', '/api/projects', { name: 'first-run' });
    const up = await api.upload(project.id, [{ name: 'ct.dcm', data: readFileSync(dataPath('dicom/series/ct-3slice/01.dcm')) }]);
    await eventually(async () => (await api.request('GET', `/api/projects/${project.id}/uploads/${up.batchId}`)).counts.stored === 1, 60_000);
    const exit = await first.stop('SIGINT');
    expect(exit.code).toBe(0);

    const second = startProcess(launcherScript, [], env());
    await second.waitForOutput(/Contour coordinator listening/, 120_000);
    await waitForHealthy(base);
    expect(second.output()).not.toMatch(/password "/);
    const again = await new ApiClient(base).login('admin', password);
    const projects = await again.request('GET', '/api/projects');
    expect(projects.map((p: { name: string }) => p.name)).toContain('first-run');
    const instances = await again.request('GET', `/api/projects/${project.id}/instances`);
    expect(instances.total).toBe(1);
    expect((await second.stop('SIGINT')).code).toBe(0);
  });
});
