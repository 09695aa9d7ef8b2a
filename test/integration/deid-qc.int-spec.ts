// De-identification and quality checks at ingest, on the real files: every broken file is quarantined with
// an actionable reason while its batch survives; stored files carry no identifying attribute (checked by an
// independent reader, pydicom); UIDs are remapped consistently across uploads; the re-identification key is
// admins-only and audited; inconsistent geometry fails the series' check.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Role } from '@contour/db';
import { ctPhantomSeries } from '@contour/dicom';
import { QueueName } from '@contour/queue';
import { dataPath } from '../support/env';
import { binary, eventually, startSystem, TestSystem } from '../support/system';

const run = promisify(execFile);
type U = { id: string; token: string };

describe('de-identification and quality checks at ingest', () => {
  let sys: TestSystem;
  let pm: U;
  let projectId: string;
  const bearer = (u: U | string) => ({ authorization: `Bearer ${typeof u === 'string' ? u : u.token}` });
  const work = mkdtempSync(join(tmpdir(), 'deid-'));

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing] });
    pm = await sys.user('pm', [Role.Manager]);
    projectId = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'deid', settings: { deid: { retainPatientCharacteristics: true } } }).expect(201)).body.id;
  });
  afterAll(() => sys.close());

  const upload = async (files: { name: string; data: Buffer }[], project = projectId) => {
    const req = sys.http().post(`/api/projects/${project}/uploads`).set(bearer(pm));
    for (const f of files) req.attach('files', f.data, f.name);
    const res = await req.expect(202);
    return eventually(async () => {
      const b = (await sys.http().get(`/api/projects/${project}/uploads/${res.body.batchId}?items=true`).set(bearer(pm))).body;
      return b.done ? b : null;
    }, 60_000);
  };

  it('quarantines every broken file with the reason it deserves, and stores the rest of the batch', async () => {
    const broken = readdirSync(dataPath('dicom/broken')).map((name) => ({ name, data: readFileSync(dataPath('dicom/broken', name)) }));
    const batch = await upload([...broken, { name: 'good.dcm', data: readFileSync(dataPath('dicom/modalities/ct-small.dcm')) }]);
    const reason = (name: string) => batch.items.find((i: { fileName: string }) => i.fileName === name);
    const expected: Record<string, string> = {
      'empty.dcm': 'empty',
      'not-dicom.txt.dcm': 'not-dicom',
      'no-preamble-no-meta.dcm': 'no-file-meta',
      'explicit-le-no-meta.dcm': 'no-file-meta',
      'meta-missing-transfer-syntax.dcm': 'missing-transfer-syntax',
      'mr-truncated.dcm': 'truncated',
      'rtplan-truncated.dcm': 'truncated',
      'bad-vr.dcm': 'invalid-value',
      'jpeg2000-too-short.dcm': 'corrupt-pixel-data',
      'bad-sequence.dcm': 'invalid-vr',
    };
    for (const [file, code] of Object.entries(expected)) {
      expect({ file, status: reason(file).status, code: reason(file).reasonCode }).toEqual({ file, status: 'quarantined', code });
      expect(reason(file).reason.length).toBeGreaterThan(30);
    }
    expect(reason('good.dcm').status).toBe('stored');
    expect(readdirSync(dataPath('dicom/broken')).length).toBe(Object.keys(expected).length);
    const q = (await sys.http().get(`/api/projects/${projectId}/quarantine`).set(bearer(pm)).expect(200)).body;
    expect(q.total).toBe(Object.keys(expected).length);
    expect(q.items.length).toBe(Object.keys(expected).length);
    // The received file of a quarantined item is for admins only (it may hold identifying data).
    const item = reason('bad-vr.dcm');
    await sys.http().get(`/api/projects/${projectId}/quarantine/${item.id}/file`).set(bearer(pm)).expect(403);
    const raw = await sys.http().get(`/api/projects/${projectId}/quarantine/${item.id}/file`).set(bearer(sys.adminToken)).expect(200);
    expect(Number(raw.headers['content-length'])).toBe(readFileSync(dataPath('dicom/broken/bad-vr.dcm')).length);
    // Re-processing puts it through the pipeline again (and it is quarantined again, for the same reason).
    await sys.http().post(`/api/projects/${projectId}/quarantine/${item.id}/reprocess`).set(bearer(pm)).expect(201);
    await eventually(async () => (await sys.http().get(`/api/projects/${projectId}/quarantine`).set(bearer(pm))).body.items.some((x: { id: string; attempts: number }) => x.id === item.id && x.attempts === 2), 30_000);
  });

  it('a damaged file of an unexpected modality is quarantined for the damage (re-processing after adding the modality would fail on it)', async () => {
    const ctOnly = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'ct only', settings: { expectedModalities: ['CT'] } }).expect(201)).body.id;
    const file = (name: string) => ({ name, data: readFileSync(dataPath(name)) });
    const batch = await upload([file('dicom/broken/mr-truncated.dcm'), file('dicom/modalities/mr-small.dcm'), file('dicom/modalities/ct-small.dcm')], ctOnly);
    const outcome = (name: string) => batch.items.find((i: { fileName: string }) => name.endsWith(i.fileName));
    expect([outcome('mr-truncated.dcm').reasonCode, outcome('mr-small.dcm').reasonCode, outcome('ct-small.dcm').status]).toEqual(['truncated', 'unexpected-modality', 'stored']);
  });

  it('the quarantine list comes in pages (limit, offset) with the total; bad paging values are refused with what is allowed', async () => {
    // The ten files the test above quarantined.
    const list = (query: string) => sys.http().get(`/api/projects/${projectId}/quarantine${query}`).set(bearer(pm));
    const all = (await list('').expect(200)).body as { total: number; items: { id: string; updatedAt: string }[] };
    expect(all.total).toBe(10);
    expect(all.items.map((i) => i.updatedAt)).toEqual([...all.items.map((i) => i.updatedAt)].sort().reverse());
    const pages = [];
    for (let offset = 0; offset < 10; offset += 4) pages.push((await list(`?limit=4&offset=${offset}`).expect(200)).body);
    expect(pages.map((p) => p.total)).toEqual([10, 10, 10]);
    expect(pages.map((p) => p.items.length)).toEqual([4, 4, 2]);
    // The pages put together are the whole list, in the same order: none repeated, none skipped.
    expect(pages.flatMap((p) => p.items.map((i: { id: string }) => i.id))).toEqual(all.items.map((i) => i.id));
    expect((await list('?offset=10').expect(200)).body).toEqual({ total: 10, items: [] });
    expect((await list('?limit=1000').expect(200)).body.items).toHaveLength(10);
    for (const [query, message] of [
      ['?limit=0', 'limit: must be a whole number from 1 to 1000'],
      ['?limit=1001', 'limit: must be a whole number from 1 to 1000'],
      ['?limit=abc', 'limit: must be a whole number from 1 to 1000'],
      ['?limit=2.5', 'limit: must be a whole number from 1 to 1000'],
      ['?offset=-1', 'offset: must be a whole number from 0 up'],
      ['?offset=x', 'offset: must be a whole number from 0 up'],
    ]) {
      expect({ query, body: (await list(query).expect(400)).body }).toMatchObject({ query, body: { statusCode: 400, message: [message] } });
    }
    // Paging changes nothing about who may list: managers of the project only.
    const annotator = await sys.user('quarantine-annotator', [Role.Annotator]);
    await list('?limit=5').set(bearer(annotator)).expect(403);
  });

  it('stored files carry no identifying attribute (pydicom, attribute by attribute)', async () => {
    const dir = dataPath('dicom/series/mr-t1-vs-seg-001');
    const names = readdirSync(dir);
    const originals = [...names.map((n) => join(dir, n)), dataPath('dicom/modalities/mr-with-overlays.dcm'), dataPath('dicom/modalities/us-rgb-single.dcm'), dataPath('dicom/modalities/rtstruct-breast-10roi.dcm')];
    await upload(originals.map((p) => ({ name: p.split('/').pop()!, data: readFileSync(p) })));
    const list = (await sys.http().get(`/api/projects/${projectId}/instances?limit=1000`).set(bearer(pm))).body.items as { id: string; flags: string[] }[];
    const stored: string[] = [];
    for (const inst of list) {
      const res = await sys.http().get(`/api/projects/${projectId}/instances/${inst.id}/file`).set(bearer(pm)).buffer(true).parse(binary);
      const path = join(work, `${inst.id}.dcm`);
      writeFileSync(path, res.body as Buffer);
      stored.push(path);
    }
    const script = `
import sys, json, pydicom
originals = [pydicom.dcmread(p) for p in json.loads(sys.argv[1])]
stored = [pydicom.dcmread(p) for p in json.loads(sys.argv[2])]
IDENT = ['PatientName','PatientID','PatientBirthDate','AccessionNumber','InstitutionName','InstitutionAddress','ReferringPhysicianName','OperatorsName','PerformingPhysicianName','StationName','DeviceSerialNumber','StudyID','OtherPatientIDs','PatientAddress','RequestingPhysician','NameOfPhysiciansReadingStudy']
leaks = []
orig_values = {}
for d in originals:
    for k in IDENT:
        v = str(d.get(k, '') or '')
        if v.strip(): orig_values.setdefault(k, set()).add(v)
orig_uids = set(str(d.SOPInstanceUID) for d in originals) | set(str(d.StudyInstanceUID) for d in originals) | set(str(d.SeriesInstanceUID) for d in originals)
for d in stored:
    if d.get('PatientIdentityRemoved') != 'YES': leaks.append('PatientIdentityRemoved')
    for k in IDENT:
        v = str(d.get(k, '') or '')
        if v.strip() and v in orig_values.get(k, set()): leaks.append(k + '=' + v)
    if str(d.SOPInstanceUID) in orig_uids or str(d.StudyInstanceUID) in orig_uids: leaks.append('UID')
    if any(e.tag.is_private and not e.tag.is_private_creator for e in d.iterall() if e.tag.group not in (0x0019,)): leaks.append('private')
    if not str(d.PatientID).startswith('CTR-'): leaks.append('pseudonym')
print(json.dumps({'leaks': leaks, 'n': len(stored), 'sex': sorted(set(str(d.get('PatientSex','')) for d in stored))}))`;
    writeFileSync(join(work, 'check.py'), script);
    const { stdout } = await run('/usr/bin/python3', [join(work, 'check.py'), JSON.stringify(originals), JSON.stringify(stored)]);
    const r = JSON.parse(stdout);
    expect(r.leaks).toEqual([]);
    expect(r.n).toBeGreaterThanOrEqual(27);
    // Patient characteristics were retained as the project asked.
    expect(r.sex.length).toBeGreaterThan(0);
    // Ultrasound without a Burned In Annotation statement is flagged for review.
    expect(list.some((i) => i.flags.includes('review-burned-in'))).toBe(true);
    // Each study keeps its de-identification report (summed from its instances' once the series settles),
    // served to the project's managers (audited), not to other members.
    const studies = (await sys.http().get(`/api/projects/${projectId}/studies`).set(bearer(pm)).expect(200)).body as { id: string; instanceCount: number }[];
    const mr = studies.find((st) => st.instanceCount === 24)!;
    const report = await eventually(async () => {
      const r = (await sys.http().get(`/api/projects/${projectId}/studies/${mr.id}/deid-report`).set(bearer(pm)).expect(200)).body;
      return r.instanceCount === 24 ? r : null;
    }, 20_000);
    const rows = report.rows as { keyword: string; action: string; instances: number; reasons: string[] }[];
    expect(rows.find((x) => x.keyword === 'PatientName')).toMatchObject({ instances: 24 });
    expect(rows.find((x) => x.keyword === 'SOPInstanceUID')).toMatchObject({ action: 'replaced-uid', instances: 24 });
    expect(rows.every((x) => x.reasons.length > 0)).toBe(true);
    const audited = (await sys.http().get(`/api/projects/${projectId}/audit?action=study.deid-report.read`).set(bearer(pm)).expect(200)).body;
    expect(audited.length).toBeGreaterThanOrEqual(1);
    const annotator = await sys.user('deid-annotator', [Role.Annotator]);
    await sys.http().put(`/api/projects/${projectId}/members/${annotator.id}`).set(bearer(pm)).send({ roles: ['annotator'] }).expect(204);
    await sys.http().get(`/api/projects/${projectId}/studies/${mr.id}/deid-report`).set(bearer(annotator)).expect(403);
    await sys.http().get(`/api/projects/${projectId}/studies/00000000-0000-0000-0000-000000000000/deid-report`).set(bearer(pm)).expect(404);
  });

  it('stores a Japanese file with ISO 2022 code extensions (it was quarantined as damaged): text readable, the name gone', async () => {
    const file = join(work, 'jis.dcm');
    await run('/usr/bin/python3', [
      '-c',
      `
import sys, pydicom, numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
meta = FileMetaDataset(); meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'; meta.MediaStorageSOPInstanceUID = generate_uid(); meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset(); ds.file_meta = meta; ds.preamble = b'\\0' * 128
ds.SpecificCharacterSet = ['', 'ISO 2022 IR 87']; ds.SOPClassUID = meta.MediaStorageSOPClassUID; ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = 'OT'; ds.BurnedInAnnotation = 'NO'
ds.PatientName = 'Yamada^Tarou=山田^太郎=やまだ^たろう'; ds.PatientID = 'JP-2022-1'; ds.StudyDescription = '山田 太郎 経過観察'; ds.SeriesDescription = '頭部 単純'
ds.Rows = 8; ds.Columns = 8; ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = 'MONOCHROME2'; ds.BitsAllocated = 16; ds.BitsStored = 16; ds.HighBit = 15; ds.PixelRepresentation = 0
ds.PixelData = np.arange(64, dtype='<u2').tobytes()
ds.is_little_endian = True; ds.is_implicit_VR = False
ds.save_as(sys.argv[1], write_like_original=False)`,
      file,
    ]);
    const batch = await upload([{ name: 'jis.dcm', data: readFileSync(file) }]);
    expect(batch.items.map((i: { status: string; reason: string | null }) => [i.status, i.reason])).toEqual([['stored', null]]);
    const instanceId = batch.items[0].instanceId as string;
    const res = await sys.http().get(`/api/projects/${projectId}/instances/${instanceId}/file`).set(bearer(pm)).buffer(true).parse(binary);
    const stored = join(work, 'jis-stored.dcm');
    writeFileSync(stored, res.body as Buffer);
    const { stdout } = await run('/usr/bin/python3', ['-c', 'import sys, json, pydicom; d = pydicom.dcmread(sys.argv[1]); print(json.dumps([d.SpecificCharacterSet, str(d.PatientName), d.StudyDescription, d.SeriesDescription]))', stored]);
    const [charset, name, study, series] = JSON.parse(stdout) as string[];
    expect(charset).toBe('ISO_IR 192');
    expect(name).toMatch(/^CTR-/);
    expect(study).not.toContain('山田');
    expect(series).toBe('頭部 単純');
  });

  it('remaps UIDs consistently: two uploads of one study join the same study and series', async () => {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'twice' }).expect(201)).body.id;
    const dir = dataPath('dicom/series/mr-t1-vs-seg-001');
    const names = readdirSync(dir).sort();
    await upload(names.slice(0, 10).map((n) => ({ name: n, data: readFileSync(join(dir, n)) })), project);
    await upload(names.slice(10).map((n) => ({ name: n, data: readFileSync(join(dir, n)) })), project);
    const series = (await sys.http().get(`/api/projects/${project}/series`).set(bearer(pm))).body;
    expect(series).toHaveLength(1);
    expect(series[0].instanceCount).toBe(24);
    // The same study in the other project got the same de-identified UID (one secret per deployment).
    const uids = await sys.db.dataSource.query(`SELECT DISTINCT series_instance_uid FROM series WHERE series_instance_uid = $1`, [series[0].seriesInstanceUid]);
    expect(uids).toHaveLength(1);
  });

  it('the re-identification key is for admins only, and every read is audited', async () => {
    await sys.http().get(`/api/admin/projects/${projectId}/reid-keys?kind=patient`).set(bearer(pm)).expect(403);
    const keys = (await sys.http().get(`/api/admin/projects/${projectId}/reid-keys?kind=patient`).set(bearer(sys.adminToken)).expect(200)).body;
    expect(keys.some((k: { original: { PatientID: string } }) => k.original.PatientID === 'VS-SEG-001')).toBe(true);
    const audit = (await sys.http().get('/api/audit?action=reid-key.read').set(bearer(sys.adminToken))).body;
    expect(audit).toHaveLength(1);
    expect(audit[0].details.query).toEqual({ kind: 'patient' });
  });

  it('unexpected modalities are quarantined; inconsistent geometry fails the series check', async () => {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'ct-only', settings: { expectedModalities: ['CT'] } }).expect(201)).body.id;
    const b = await upload([{ name: 'mr.dcm', data: readFileSync(dataPath('dicom/modalities/mr-small.dcm')) }], project);
    expect(b.items[0]).toMatchObject({ status: 'quarantined', reasonCode: 'unexpected-modality' });
    // A CT "series" with a slice of another size and a duplicated position.
    const ct = ctPhantomSeries({ seed: 'qc', slices: 4, rows: 32, columns: 32, pixelSpacing: 8, patient: { name: 'Qc^Test', id: 'QC-1' } });
    const odd = ctPhantomSeries({ seed: 'qc', slices: 4, rows: 48, columns: 48, pixelSpacing: 8, patient: { name: 'Qc^Test', id: 'QC-1' } });
    const mixed = [...ct.files.slice(0, 3), odd.files[3]];
    await upload(mixed.map((f, i) => ({ name: `m${i}.dcm`, data: f })), project);
    const series = await eventually(async () => {
      const [s] = await sys.db.dataSource.query(`SELECT qc_status, qc_issues FROM series WHERE project_id = $1`, [project]);
      return s && s.qc_status !== 'pending' ? s : null;
    }, 30_000);
    expect(series.qc_status).toBe('failed');
    expect(series.qc_issues.map((i: { code: string }) => i.code)).toContain('mixed-dimensions');
    // The project's series list says why the series failed (and so was not split into tasks): it did not before.
    const [listed] = (await sys.http().get(`/api/projects/${project}/series`).set(bearer(pm)).expect(200)).body;
    expect(listed.qcStatus).toBe('failed');
    expect(listed.qcIssues).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'mixed-dimensions', severity: 'error', message: expect.stringMatching(/\w+/) })]));
  });
});
