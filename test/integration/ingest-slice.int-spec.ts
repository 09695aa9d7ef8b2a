// The working slice, in one process: HTTP upload -> BullMQ job -> worker module -> PostgreSQL rows + stored
// file -> listed and downloaded through the API.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Role } from '@contour/db';
import { readDicom } from '@contour/dicom';
import { SeriesGeometryService } from '@contour/ingest';
import { SeriesNifti, SeriesVolumeLoader } from '@contour/prelabel';
import { JobName, JobQueue, QueueName } from '@contour/queue';
import { dataPath } from '../support/env';
import { binary, eventually, startSystem, TestSystem } from '../support/system';

describe('ingest slice', () => {
  let sys: TestSystem;
  let projectId: string;
  let manager: { id: string; token: string };
  const auth = () => ({ authorization: `Bearer ${manager.token}` });

  beforeAll(async () => {
    sys = await startSystem({ worker: true });
    manager = await sys.user('pm', [Role.Manager]);
    projectId = (await sys.http().post('/api/projects').set(auth()).send({ name: 'slice' }).expect(201)).body.id;
  });
  afterAll(() => sys.close());

  const waitForBatch = (batchId: string) =>
    eventually(async () => {
      const res = await sys.http().get(`/api/projects/${projectId}/uploads/${batchId}?items=true`).set(auth()).expect(200);
      return res.body.done ? res.body : null;
    });

  it('stores an uploaded DICOM file, lists it and serves it back (audited)', async () => {
    const up = await sys.http().post(`/api/projects/${projectId}/uploads`).set(auth()).attach('file', dataPath('dicom/modalities/ct-small.dcm')).expect(202);
    const batch = await waitForBatch(up.body.batchId);
    expect(batch.counts).toMatchObject({ stored: 1, quarantined: 0 });
    const list = await sys.http().get(`/api/projects/${projectId}/instances`).set(auth()).expect(200);
    expect(list.body.total).toBe(1);
    expect(list.body.items[0]).toMatchObject({ rows: 128, columns: 128, numberOfFrames: 1, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    const file = await sys.http().get(`/api/projects/${projectId}/instances/${list.body.items[0].id}/file`).set(auth()).buffer(true).parse(binary);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('application/dicom');
    expect((file.body as Buffer).toString('latin1', 128, 132)).toBe('DICM');
    const audit = await sys.http().get(`/api/projects/${projectId}/audit?action=instance.read`).set(auth()).expect(200);
    expect(audit.body).toHaveLength(1);
    expect(audit.body[0]).toMatchObject({ actorName: 'pm', objectId: list.body.items[0].id });
    const series = await sys.http().get(`/api/projects/${projectId}/series`).set(auth()).expect(200);
    expect(series.body[0]).toMatchObject({ modality: 'CT', instanceCount: 1 });
  });

  it('a deflated file is stored inflated and indexed with the transfer syntax it is stored in (it kept the deflated one, which QIDO and WADO then reported)', async () => {
    const project = (await sys.http().post('/api/projects').set(auth()).send({ name: 'deflated' }).expect(201)).body.id;
    const up = await sys.http().post(`/api/projects/${project}/uploads`).set(auth()).attach('file', dataPath('dicom/modalities/deflated.dcm')).expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${project}/uploads/${up.body.batchId}`).set(auth())).body.done || null, 60_000);
    const list = await sys.http().get(`/api/projects/${project}/instances`).set(auth()).expect(200);
    expect(list.body.items[0].transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    const file = await sys.http().get(`/api/projects/${project}/instances/${list.body.items[0].id}/file`).set(auth()).buffer(true).parse(binary);
    expect(readDicom(file.body as Buffer).transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
  });

  it('quarantines a non-DICOM file with a reason while the rest of the batch is stored', async () => {
    const up = await sys
      .http()
      .post(`/api/projects/${projectId}/uploads`)
      .set(auth())
      .attach('a', Buffer.from('patient list, do not upload'), 'notes.txt')
      .attach('b', dataPath('dicom/modalities/mr-small.dcm'))
      .expect(202);
    const batch = await waitForBatch(up.body.batchId);
    expect(batch.counts).toMatchObject({ stored: 1, quarantined: 1 });
    const bad = batch.items.find((i: { fileName: string }) => i.fileName === 'notes.txt');
    expect(bad).toMatchObject({ status: 'quarantined', reasonCode: 'not-dicom' });
    expect(bad.reason).toMatch(/text, not DICOM/);
  });

  it('stores a file sent twice only once', async () => {
    const path = dataPath('dicom/modalities/dx-xray.dcm');
    const first = await sys.http().post(`/api/projects/${projectId}/uploads`).set(auth()).attach('f', path).expect(202);
    await waitForBatch(first.body.batchId);
    const second = await sys.http().post(`/api/projects/${projectId}/uploads`).set(auth()).attach('f', readFileSync(path), 'again.dcm').expect(202);
    const batch = await waitForBatch(second.body.batchId);
    expect(batch.counts).toMatchObject({ duplicate: 1 });
    const [{ n }] = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM instances WHERE sop_class_uid = '1.2.840.10008.5.1.4.1.1.1.1'`);
    expect(n).toBe(1);
  });

  it('queues follow-up jobs only once what they need is committed (NIfTI split, DICOM series geometry)', async () => {
    // A job queued inside the ingest transaction can start before the commit and find nothing: the first
    // benchmark of ten NIfTI uploads left half of them without a task. Every follow-up job must see its rows.
    const jobs = sys.worker!.get(JobQueue);
    const seen: { name: string; visible: boolean }[] = [];
    const add = jobs.add.bind(jobs);
    const spy = jest.spyOn(jobs, 'add').mockImplementation(async (name, data, opts) => {
      const d = data as { studyId?: string; seriesId?: string };
      const [{ n }] = d.studyId
        ? await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM series WHERE study_id = $1`, [d.studyId])
        : await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM instances WHERE series_id = $1`, [d.seriesId]);
      seen.push({ name, visible: n > 0 });
      return add(name, data, opts);
    });
    try {
      await sys.http().post(`/api/projects/${projectId}/uploads?modality=MR&subject=ORDER-1`).set(auth()).attach('files', dataPath('nifti/t1-brain-256.nii.gz')).expect(202);
      await sys.http().post(`/api/projects/${projectId}/uploads`).set(auth()).attach('files', dataPath('dicom/series/ct-3slice/01.dcm')).expect(202);
      await eventually(async () => (seen.some((s) => s.name === JobName.SplitStudy) && seen.some((s) => s.name === JobName.SeriesGeometry) ? true : null), 60_000);
    } finally {
      spy.mockRestore();
    }
    const followUps = seen.filter((s) => s.name === JobName.SplitStudy || s.name === JobName.SeriesGeometry);
    expect(followUps.length).toBeGreaterThanOrEqual(2);
    expect(followUps.filter((s) => !s.visible)).toEqual([]);
  });

  it('the name of an uploaded NIfTI file (often the patient\'s) reaches no study or series description (it was both before)', async () => {
    const project = (await sys.http().post('/api/projects').set(auth()).send({ name: 'nifti-names' }).expect(201)).body.id;
    const up = await sys.http().post(`/api/projects/${project}/uploads?modality=MR&subject=SUBJ-7`).set(auth()).attach('files', readFileSync(dataPath('nifti/t1-brain-256.nii.gz')), 'Doe_John_19520312_T1.nii.gz').expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${project}/uploads/${up.body.batchId}`).set(auth())).body.done || null, 60_000);
    const rows: { description: string | null }[] = await sys.db.dataSource.query(
      `SELECT description FROM studies WHERE project_id = $1 UNION ALL SELECT description FROM series WHERE project_id = $1`,
      [project],
    );
    expect(rows).toEqual([{ description: 'NIfTI volume' }, { description: 'NIfTI volume' }]);
    expect(JSON.stringify((await sys.http().get(`/api/projects/${project}/series`).set(auth()).expect(200)).body)).not.toMatch(/Doe|John|19520312/);
  });

  it('a NIfTI whose affine is singular is quarantined at once with the reason (it failed five times as a temporary error, then asked for a re-process)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'singular-'));
    const file = join(dir, 'singular.nii.gz');
    // nibabel (an independent writer) with an sform of voxel size 0 along z and no qform.
    execFileSync('/usr/bin/python3', ['-c', [
      'import sys, numpy as np, nibabel as nib',
      'h = nib.Nifti1Header(); h.set_data_shape((4, 4, 4)); h.set_data_dtype(np.int16)',
      'h.set_sform(np.diag([1.0, 1.0, 0.0, 1.0]), code=1); h.set_qform(None, code=0)',
      'nib.Nifti1Image(np.ones((4, 4, 4), np.int16), None, header=h).to_filename(sys.argv[1])',
    ].join('\n'), file]);
    const up = await sys.http().post(`/api/projects/${projectId}/uploads?modality=MR`).set(auth()).attach('files', readFileSync(file), 'singular.nii.gz').expect(202);
    const started = Date.now();
    const batch = await waitForBatch(up.body.batchId);
    expect(batch.items[0]).toMatchObject({ status: 'quarantined', reasonCode: 'corrupt-nifti', reason: expect.stringMatching(/affine \(sform\/qform\) is singular \(voxel sizes 1 x 1 x 0 mm/) });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  /** Uploads slices of the shared 3-slice CT into `project` and waits until they are stored. */
  const uploadCtSlices = async (project: string, files: string[]) => {
    const req = sys.http().post(`/api/projects/${project}/uploads`).set(auth());
    for (const f of files) req.attach('files', dataPath(`dicom/series/ct-3slice/${f}`));
    const up = await req.expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${project}/uploads/${up.body.batchId}`).set(auth())).body.done || null);
  };

  it('serves a series volume as .nii.gz, or as the uncompressed .nii over HTTP gzip for browsers', async () => {
    const series = (await sys.http().get(`/api/projects/${projectId}/series`).set(auth()).expect(200)).body;
    // The uploaded NIfTI (no DICOM instances); the single DICOM MR slice has no geometry here, since this
    // test's worker does not serve the routing queue that builds it: a clear 409, not a 500.
    const t1 = series.find((s: { modality: string; instanceCount: number }) => s.modality === 'MR' && s.instanceCount === 0);
    const pending = series.find((s: { instanceCount: number }) => s.instanceCount > 0);
    expect((await sys.http().get(`/api/projects/${projectId}/series/${pending.id}/volume`).set(auth()).expect(409)).body.message).toMatch(/has no volume geometry yet/);
    const get = (query: string, encoding: string) =>
      sys.http().get(`/api/projects/${projectId}/series/${t1.id}/volume${query}`).set(auth()).set('accept-encoding', encoding).buffer(true).parse(binary);
    const gz = await get('', 'gzip');
    expect(gz.headers['content-encoding']).toBeUndefined();
    const nii = gunzipSync(gz.body as Buffer);
    expect(nii.readInt32LE(0)).toBe(348);
    // Browsers: the same bytes with Content-Encoding: gzip (supertest inflates them like a browser would).
    const viaGzip = await get('?format=nii', 'gzip, deflate');
    expect(viaGzip.headers['content-encoding']).toBe('gzip');
    expect(viaGzip.headers['content-disposition']).toMatch(/\.nii"$/);
    expect(Buffer.compare(viaGzip.body as Buffer, nii)).toBe(0);
    // A client without gzip gets it inflated by the server.
    const plain = await get('?format=nii', 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Buffer.compare(plain.body as Buffer, nii)).toBe(0);
    expect(JSON.parse((await get('?format=png', 'gzip').expect(400)).body.toString()).message.join(' ')).toMatch(/format: Invalid option: expected one of "nii.gz"\|"nii"/);
  });

  it('builds again, at start-up, the geometry of a multi-frame series stored without its frame numbers (a SEG of it could not name its frames)', async () => {
    const project = (await sys.http().post('/api/projects').set(auth()).send({ name: 'frames-backfill' }).expect(201)).body.id;
    const up = await sys.http().post(`/api/projects/${project}/uploads`).set(auth()).attach('files', dataPath('dicom/modalities/enhanced-ct-2frames.dcm')).expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${project}/uploads/${up.body.batchId}`).set(auth()).expect(200)).body.done);
    const geometryOf = async () => (await sys.db.dataSource.query(`SELECT se.id, se.geometry FROM series se WHERE se.project_id = $1`, [project]))[0] as { id: string; geometry: { order: string[]; frames?: number[] } | null };
    // The geometry job (routing queue, not served in this suite) run by hand, as the other tests here do.
    await sys.worker!.get(SeriesGeometryService).build((await geometryOf()).id);
    const built = await geometryOf();
    expect([...built.geometry!.frames!].sort()).toEqual([1, 2]); // in slice order (geometric), frame numbers from 1
    // As a series stored before frame numbers were kept looks: the start-up check queues its geometry job.
    await sys.db.dataSource.query(`UPDATE series SET geometry = geometry - 'frames' WHERE id = $1`, [built.id]);
    expect(await sys.app.get(SeriesGeometryService).rebuildStale()).toBe(1);
    const queued = await sys.app.get(JobQueue).queue(QueueName.Routing).getJobs(['waiting', 'delayed', 'prioritized']);
    expect(queued.filter((j) => j.name === JobName.SeriesGeometry && j.data.seriesId === built.id)).toHaveLength(1);
    await sys.worker!.get(SeriesGeometryService).build(built.id);
    expect((await geometryOf()).geometry!.frames).toEqual(built.geometry!.frames);
    expect(await sys.app.get(SeriesGeometryService).rebuildStale()).toBe(0);
  });

  it('rebuilds a DICOM series volume when more instances arrive after it was first read', async () => {
    // Found while reviewing the cache: a viewer opening a series mid-transfer cached a partial volume for good.
    const geometry = sys.worker!.get(SeriesGeometryService);
    const project = (await sys.http().post('/api/projects').set(auth()).send({ name: 'late-slices' }).expect(201)).body.id;
    const upload = (files: string[]) => uploadCtSlices(project, files);
    const volumeDepth = async (seriesId: string) => {
      const res = await sys.http().get(`/api/projects/${project}/series/${seriesId}/volume`).set(auth()).buffer(true).parse(binary).expect(200);
      return gunzipSync(res.body as Buffer).readInt16LE(40 + 2 * 3); // dim[3]
    };
    await upload(['01.dcm']);
    const [series] = (await sys.http().get(`/api/projects/${project}/series`).set(auth())).body;
    await geometry.build(series.id);
    expect(await volumeDepth(series.id)).toBe(1);
    await upload(['02.dcm', '03.dcm']);
    await geometry.build(series.id);
    expect(await volumeDepth(series.id)).toBe(3);
  });

  it.each(['streamed slice by slice', 'built as a whole volume'] as const)('does not cache a volume whose series gained instances while it was being built (%s)', async (path) => {
    // Found while adding the ahead-of-use build: a build that started before late instances arrived stored its
    // partial volume after the geometry rebuild had cleared the key, so the series stayed one slice deep.
    const geometry = sys.worker!.get(SeriesGeometryService);
    const loader = sys.worker!.get(SeriesVolumeLoader);
    const project = (await sys.http().post('/api/projects').set(auth()).send({ name: `race ${path}` }).expect(201)).body.id;
    const upload = (files: string[]) => uploadCtSlices(project, files);
    await upload(['01.dcm']);
    const [series] = (await sys.http().get(`/api/projects/${project}/series`).set(auth())).body;
    await geometry.build(series.id);
    const lateArrivals = async () => {
      await upload(['02.dcm', '03.dcm']);
      await geometry.build(series.id);
    };
    const spies: jest.SpyInstance[] = [];
    if (path === 'streamed slice by slice') {
      const stream = loader.streamNiftiGzip.bind(loader);
      spies.push(
        jest.spyOn(loader, 'streamNiftiGzip').mockImplementationOnce(async (s) => {
          const partial = await stream(s);
          expect(partial).not.toBeNull();
          await lateArrivals();
          return partial;
        }),
      );
    } else {
      const load = loader.load.bind(loader);
      spies.push(
        jest.spyOn(loader, 'streamNiftiGzip').mockResolvedValueOnce(null),
        jest.spyOn(loader, 'load').mockImplementationOnce(async (id: string) => {
          const partial = await load(id);
          await lateArrivals();
          return partial;
        }),
      );
    }
    try {
      await sys.worker!.get(SeriesNifti).prebuild(series.id);
      spies.forEach((spy) => expect(spy).toHaveBeenCalledTimes(1));
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
    const [{ volume_blob_key }] = await sys.db.dataSource.query(`SELECT volume_blob_key FROM series WHERE id = $1`, [series.id]);
    expect(volume_blob_key).toBeNull();
    const key = await sys.worker!.get(SeriesNifti).prebuild(series.id);
    const [{ volume_blob_key: cached }] = await sys.db.dataSource.query(`SELECT volume_blob_key FROM series WHERE id = $1`, [series.id]);
    expect(cached).toBe(key);
  });

  it('skips an ahead-of-use build when the series has changed or grown past VOLUME_PREBUILD_MAX_MB since the job was queued', async () => {
    // Found by the ingest benchmark: a 2000-slice series got a build queued while its first slices were in (small
    // enough), which then ran on the whole series and doubled the worker's peak memory.
    const project = (await sys.http().post('/api/projects').set(auth()).send({ name: 'cap' }).expect(201)).body.id;
    await uploadCtSlices(project, ['01.dcm', '02.dcm', '03.dcm']);
    const [series] = (await sys.http().get(`/api/projects/${project}/series`).set(auth())).body;
    await sys.worker!.get(SeriesGeometryService).build(series.id);
    const niftis = sys.worker!.get(SeriesNifti);
    expect(await niftis.prebuild(series.id, 1)).toBeNull(); // 512x512x3 needs 3 MB
    expect((await sys.db.dataSource.query(`SELECT volume_blob_key FROM series WHERE id = $1`, [series.id]))[0].volume_blob_key).toBeNull();
    // A job queued for an earlier geometry (fewer slices) builds nothing: the series changed since.
    expect(await niftis.prebuild(series.id, 512, [512, 512, 2])).toBeNull();
    expect(await niftis.prebuild(series.id, 512, [512, 512, 3])).toEqual(expect.any(String));
  });

  it('answers 400 when the upload holds no file', async () => {
    const res = await sys.http().post(`/api/projects/${projectId}/uploads`).set(auth()).field('x', 'y').expect(400);
    expect(res.body.message).toMatch(/No files/);
  });
});
