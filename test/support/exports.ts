// Runs a dataset export through the API and unpacks the archive: create, wait until done (a failed export
// throws with its error), download, unzip.
import { unzipSync, Unzipped } from 'fflate';
import { eventually, TestSystem } from './system';

export async function runExport(sys: TestSystem, projectId: string, token: string, body: Record<string, unknown>, timeoutMs = 60_000): Promise<{ report: Record<string, any>; files: Unzipped }> {
  const auth = { authorization: `Bearer ${token}` };
  const created = await sys.http().post(`/api/projects/${projectId}/exports`).set(auth).send(body).expect(202);
  const report = await eventually(async () => {
    const e = (await sys.http().get(`/api/projects/${projectId}/exports/${created.body.id}`).set(auth)).body;
    if (e.state === 'failed') throw new Error(`export failed: ${e.error}`);
    return e.state === 'done' ? e : null;
  }, timeoutMs, 500);
  const zip = await sys
    .http()
    .get(`/api/projects/${projectId}/exports/${created.body.id}/download`)
    .set(auth)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  if (zip.status !== 200) throw new Error(`export download answered ${zip.status}`);
  return { report, files: unzipSync(new Uint8Array(zip.body as Buffer)) };
}
