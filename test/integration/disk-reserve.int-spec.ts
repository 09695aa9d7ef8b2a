// The disk's free-space floor (DISK_RESERVE_BYTES) at every door, with a real file system: a coordinator whose floor is
// above what the disk has free refuses an upload and a STOW-RS body with 507 and keeps nothing of them (no spooled
// file, no batch), and DCMTK's storescu gets its association rejected. Before the floor, each was written to the
// spool until the disk was full (the blob store's and PostgreSQL's writes failing after it).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Role } from '@contour/db';
import { dataPath } from '../support/env';
import { freePort } from '../support/processes';
import { startSystem, TestSystem } from '../support/system';

const run = promisify(execFile);
/** 4 PiB: more than any disk here has free. */
const RESERVE = String(2 ** 52);
const REFUSED = /^Not received: the server's disk has [\d.]+ (GiB|MiB) free, less than the 4194304 GiB it keeps in reserve \(DISK_RESERVE_BYTES\): nothing more is received until an administrator frees space; nothing of this request was kept$/;

describe('the disk reserve at every door', () => {
  let sys: TestSystem;
  let dicomPort: number;
  let projectId: string;
  let manager: { id: string; token: string };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const spooled = () => readdirSync(join(sys.config.dataDir, 'incoming'));
  const batches = async () => (await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM ingest_batches`))[0].n as number;

  beforeAll(async () => {
    dicomPort = await freePort();
    sys = await startSystem({ env: { DICOM_PORT: String(dicomPort), DISK_RESERVE_BYTES: RESERVE } });
    manager = await sys.user('pm', [Role.Manager]);
    projectId = (await sys.http().post('/api/projects').set(bearer(manager.token)).send({ name: 'full disk' }).expect(201)).body.id;
    // storescu's AE title is routed to the project: without the floor, its association would be accepted.
    await sys.http().put(`/api/projects/${projectId}/ae-routes/STORESCU`).set(bearer(manager.token)).expect(204);
  });
  afterAll(() => sys.close());

  it('an upload is refused with 507, and neither a spooled file nor a batch is left', async () => {
    const res = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(manager.token)).attach('files', readFileSync(dataPath('dicom/modalities/ct-small.dcm')), 'ct.dcm').expect(507);
    expect(res.body.message).toMatch(REFUSED);
    expect(spooled()).toEqual([]);
    expect(await batches()).toBe(0);
  });

  it('a STOW-RS body is refused with 507, and nothing is kept', async () => {
    const file = readFileSync(dataPath('dicom/modalities/ct-small.dcm'));
    const body = Buffer.concat([Buffer.from('--B\r\nContent-Type: application/dicom\r\n\r\n'), file, Buffer.from('\r\n--B--\r\n')]);
    const res = await sys.http().post(`/dicom-web/projects/${projectId}/studies`).set(bearer(manager.token)).set('content-type', 'multipart/related; type="application/dicom"; boundary=B').send(body).expect(507);
    expect(res.body.message).toMatch(REFUSED);
    expect(spooled()).toEqual([]);
    expect(await batches()).toBe(0);
  });

  it("storescu's association is rejected (transient: it may try again once there is space)", async () => {
    await expect(run('storescu', ['-v', '-aet', 'STORESCU', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort), dataPath('dicom/modalities/ct-small.dcm')])).rejects.toThrow(/Association Rejected[\s\S]*Transient[\s\S]*Temporary congestion/i);
    expect(spooled()).toEqual([]);
    expect(await batches()).toBe(0);
  });
});
