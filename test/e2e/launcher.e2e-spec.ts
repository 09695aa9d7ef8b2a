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
  const env = () => ({
    DATABASE_URL: '',
    JWT_SECRET: '',
    CONTOUR_ADMIN_PASSWORD: '',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: uniquePrefix('launch'),
    CONTOUR_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
  });

  beforeAll(async () => {
    port = await freePort();
  });

  it('starts everything, prints the admin login once, ingests a file, and keeps data across a restart', async () => {
    const first = startProcess(launcherScript, [], env());
    const [, password] = await first.waitForOutput(/username "admin", password "([^"]+)"/, 120_000);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealthy(base);
    expect(first.output()).toMatch(/Embedded PostgreSQL \(PGlite\) running/);
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
