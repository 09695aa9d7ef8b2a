// Dataset export end to end: a project built from the shared real data plus synthetic patients with known
// demographics, every task annotated and approved, exported as nnU-Net NIfTI + DICOM SEG + COCO with
// patient-level splits and a balance report — checked with nibabel, dcm2niix and dciodvfy.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProjectRole, Role } from '@contour/db';
import { ctPhantomSeries } from '@contour/dicom';
import { QueueName } from '@contour/queue';
import { dataPath } from '../support/env';
import { maskBody } from '../support/masks';
import { runExport } from '../support/exports';
import { eventually, startSystem, TestSystem, uploadPhantomTask } from '../support/system';

const run = promisify(execFile);
const PY = '/usr/bin/python3';
type U = { id: string; token: string };

describe('dataset export', () => {
  let sys: TestSystem;
  let pm: U, ann: U;
  const bearer = (u: U) => ({ authorization: `Bearer ${u.token}` });
  let projectId: string;
  let files: Record<string, Uint8Array>;
  let firstExportId: string;
  const work = mkdtempSync(join(tmpdir(), 'export-'));

  /** Annotates every ready task of the project with a box-shaped mask of label 1 (or 2 for odd tasks). */
  async function annotateAll(project: string) {
    for (;;) {
      const res = await sys.http().post(`/api/projects/${project}/tasks/next`).set(bearer(ann));
      if (res.status === 204) break;
      // The task's own grid: a frame range of a cine is a few frames of its series.
      const [nx, ny, nz] = res.body.task.grid?.dims ?? res.body.task.series[0].geometry.dims;
      const mask = new Uint8Array(nx * ny * nz);
      for (let z = 0; z < nz; z++) for (let y = Math.floor(ny / 4); y < Math.floor(ny / 2); y++) for (let x = Math.floor(nx / 4); x < Math.floor(nx / 2); x++) mask[x + nx * (y + ny * z)] = 1 + (z % 2);
      await sys.http().post(`/api/projects/${project}/reads/${res.body.readId}/submit`).set(bearer(ann)).send({ mask: maskBody(mask) }).expect(200);
    }
  }
  const approvedCount = async (project: string) => Number(((await sys.http().get(`/api/projects/${project}/stats`).set(bearer(pm))).body.byState.find((s: { state: string }) => s.state === 'approved') ?? { n: 0 }).n);

  beforeAll(async () => {
    sys = await startSystem({ worker: true, queues: [QueueName.Ingest, QueueName.Routing, QueueName.Consensus, QueueName.Export] });
    pm = await sys.user('pm', [Role.Manager]);
    ann = await sys.user('ann', [Role.Annotator]);
    const settings = { quality: { reads: 1, reviewRequired: false } };
    projectId = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'export', settings }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${projectId}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${projectId}/protocols`).set(bearer(pm)).send({
      labels: [
        { id: 1, name: 'Region A', color: '#ff0000', code: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' } },
        { id: 2, name: 'Region B', color: '#00ff00', code: { value: '10200004', scheme: 'SCT', meaning: 'Liver' } },
      ],
      annotationTypes: [{ kind: 'segmentation-3d' }],
    }).expect(201);
    // Real data: the MR series and the 3 CT slices. Synthetic: 23 male patients and 1 female (4%: under-represented).
    const up = sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(pm));
    for (const d of ['dicom/series/mr-t1-vs-seg-001', 'dicom/series/ct-3slice']) for (const f of readdirSync(dataPath(d))) up.attach('files', readFileSync(dataPath(d, f)), `${d}/${f}`);
    for (let i = 0; i < 24; i++) {
      const s = ctPhantomSeries({ seed: `export-${i}`, slices: 2, rows: 16, columns: 16, pixelSpacing: 10, patient: { name: `Syn^${i}`, id: `SYN-${i}`, sex: i === 0 ? 'F' : 'M', age: `0${40 + i}Y` }, institution: i % 2 ? 'North Hospital' : 'South Hospital' });
      s.files.forEach((f, k) => up.attach('files', f, `syn-${i}-${k}.dcm`));
    }
    await up.expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${projectId}/tasks`).set(bearer(pm))).body.length === 26, 90_000);
    await eventually(async () => (await sys.http().get(`/api/projects/${projectId}/tasks?state=ready`).set(bearer(pm))).body.length === 26, 30_000);
    await annotateAll(projectId);
    await eventually(async () => (await approvedCount(projectId)) === 26, 60_000);

    const run = await runExport(sys, projectId, pm.token, { name: 'v1', options: { formats: ['nnunet', 'dicom-seg'], split: { fractions: { train: 0.6, validation: 0.2, test: 0.2 }, seed: 7, stratifyBy: ['sex'] } } }, 180_000);
    expect(run.report.progress).toBe(100);
    files = run.files;
    firstExportId = run.report.id;
  });
  afterAll(() => sys.close());

  const text = (p: string) => Buffer.from(files[p]).toString();
  const write = (p: string, from = files) => {
    const path = join(work, p.replace(/\//g, '__'));
    writeFileSync(path, from[p]);
    return path;
  };
  const manifests = () => Object.keys(files).filter((f) => f.startsWith('manifests/')).map((f) => JSON.parse(text(f)));

  it('the task list pages by offset and by cursor alike, each task once; a cursor from elsewhere is a 404, a malformed one a 400', async () => {
    const list = async (query: string) => (await sys.http().get(`/api/projects/${projectId}/tasks?${query}`).set(bearer(pm)).expect(200)).body as { id: string; priority: number; createdAt: string }[];
    const all = await list('limit=1000');
    expect(all).toHaveLength(26);
    const byCursor: string[] = [];
    for (let page = await list('limit=7'); page.length; page = await list(`limit=7&afterId=${page[page.length - 1].id}`)) byCursor.push(...page.map((t) => t.id));
    const byOffset: string[] = [];
    for (let offset = 0; offset < 26; offset += 7) byOffset.push(...(await list(`limit=7&offset=${offset}`)).map((t) => t.id));
    expect(byCursor).toEqual(all.map((t) => t.id));
    expect(byOffset).toEqual(byCursor);
    // An offset counts from the cursor.
    expect((await list(`limit=2&offset=3&afterId=${all[4].id}`)).map((t) => t.id)).toEqual(all.slice(8, 10).map((t) => t.id));
    const otherProject = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'export-cursor-elsewhere' }).expect(201)).body.id;
    const refused = await sys.http().get(`/api/projects/${otherProject}/tasks?afterId=${all[0].id}`).set(bearer(pm)).expect(404);
    expect(refused.body.message).toMatch(/No task .* in this project/);
    await sys.http().get(`/api/projects/${projectId}/tasks?afterId=not-a-uuid`).set(bearer(pm)).expect(400);
  });

  it('has the nnU-Net v2 layout with dataset.json from the protocol', () => {
    const ds = JSON.parse(text('nnunet/dataset.json'));
    expect(ds.labels).toEqual({ background: 0, 'Region A': 1, 'Region B': 2 });
    expect(ds.file_ending).toBe('.nii.gz');
    const trainImages = Object.keys(files).filter((f) => /^nnunet\/imagesTr\/CASE_\d{4}_0000\.nii\.gz$/.test(f));
    expect(ds.numTraining).toBe(trainImages.length);
    for (const img of trainImages) expect(files[img.replace('imagesTr', 'labelsTr').replace('_0000.nii.gz', '.nii.gz')]).toBeDefined();
    expect(Object.keys(files).some((f) => f.startsWith('nnunet/imagesTs/'))).toBe(true);
    expect(JSON.parse(text('nnunet/splits_final.json'))[0].train.length).toBeGreaterThan(0);
  });

  it('the MR case matches dcm2niix voxel for voxel, with the affine within 1e-3 (nibabel)', async () => {
    const mr = manifests().find((m) => m.labelVersions && files[`nnunet/imagesTr/${m.caseId}_0000.nii.gz`] && true && readFileSync !== undefined && m.source);
    expect(mr).toBeDefined();
    // Find the 24-slice case by shape.
    const images = Object.keys(files).filter((f) => /images(Tr|Ts)\/.*_0000\.nii\.gz$/.test(f));
    const out = mkdtempSync(join(tmpdir(), 'dcm2niix-'));
    await run('/usr/bin/dcm2niix', ['-z', 'y', '-f', 'ref', '-o', out, dataPath('dicom/series/mr-t1-vs-seg-001')]);
    const script = `
import sys, json, nibabel as nib, numpy as np
ref = nib.as_closest_canonical(nib.load(sys.argv[1]))
best = None
for path in sys.argv[2:]:
    img = nib.load(path)
    if img.shape != (512, 512, 24) and img.shape != (512, 512, 24, 1): continue
    can = nib.as_closest_canonical(img)
    lab = nib.as_closest_canonical(nib.load(path.replace('imagesT', 'labelsT').replace('_0000.nii.gz', '.nii.gz')))
    best = { 'shape': list(can.shape), 'refShape': list(ref.shape), 'affineDiff': float(np.abs(can.affine - ref.affine).max()),
             'dataEqual': bool(np.array_equal(np.asarray(can.dataobj).astype(np.float64), np.asarray(ref.dataobj).astype(np.float64))),
             'labelAffineDiff': float(np.abs(lab.affine - can.affine).max()), 'labelValues': sorted(int(v) for v in np.unique(np.asarray(lab.dataobj))) }
print(json.dumps(best))`;
    writeFileSync(join(work, 'check.py'), script);
    images.forEach((img) => write(img.replace('imagesT', 'labelsT').replace('_0000.nii.gz', '.nii.gz')));
    const { stdout } = await run(PY, [join(work, 'check.py'), join(out, 'ref.nii.gz'), ...images.map((p) => write(p))]);
    const r = JSON.parse(stdout);
    expect(r.shape).toEqual(r.refShape);
    expect(r.affineDiff).toBeLessThan(1e-3);
    expect(r.dataEqual).toBe(true);
    expect(r.labelAffineDiff).toBeLessThan(1e-3);
    expect(r.labelValues).toEqual([0, 1, 2]);
  });

  it('no patient appears in two splits, and the split follows sex strata', async () => {
    const splits = JSON.parse(text('splits.json'));
    const rows: { case_name: string; pseudonym: string; sex: string }[] = await sys.db.dataSource.query(
      `SELECT ec.case_name, p.pseudonym, p.sex FROM export_cases ec JOIN tasks t ON t.id = ec.task_id JOIN studies s ON s.id = t.study_id JOIN patients p ON p.id = s.patient_id`,
    );
    const perPatient = new Map<string, Set<string>>();
    for (const r of rows) perPatient.set(r.pseudonym, new Set([...(perPatient.get(r.pseudonym) ?? []), splits.cases[r.case_name]]));
    for (const s of perPatient.values()) expect(s.size).toBe(1);
    const male = rows.filter((r) => r.sex === 'M');
    const maleTrain = male.filter((r) => splits.cases[r.case_name] === 'train').length / male.length;
    expect(Math.abs(maleTrain - 0.6)).toBeLessThanOrEqual(0.1);
  });

  it('DICOM SEG per case references the de-identified sources and passes dciodvfy', async () => {
    const segs = Object.keys(files).filter((f) => f.startsWith('dicom-seg/'));
    expect(segs.length).toBe(26);
    const mrSeg = segs.map((s) => ({ s, size: files[s].length })).sort((a, b) => b.size - a.size)[0].s;
    const { stdout, stderr } = await run('/usr/bin/dciodvfy', [write(mrSeg)]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${stdout}${stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
    const { stdout: refs } = await run(PY, ['-c', `import pydicom,sys; d=pydicom.dcmread(sys.argv[1]); print(d.Modality, len(d.ReferencedSeriesSequence[0].ReferencedInstanceSequence), d.PatientIdentityRemoved if 'PatientIdentityRemoved' in d else 'NO')`, write(mrSeg)]);
    expect(refs.trim()).toBe('SEG 24 YES');
  });

  it('its reads of the re-identification key (the site, for strata) are in the audit log (they were not)', async () => {
    const [{ n }] = await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM audit_events WHERE project_id = $1 AND action = 'reid-key.read' AND actor_name LIKE '%export%' AND details ->> 'field' = 'InstitutionName'`, [projectId]);
    expect(n).toBeGreaterThan(0);
  });

  it('every case has a provenance manifest with pseudonymous people', () => {
    const m = manifests();
    expect(m).toHaveLength(26);
    for (const x of m) {
      expect(x.annotators).toHaveLength(1);
      expect(x.annotators[0]).toMatch(/^U-[A-Z2-7]{16}$/);
      expect(JSON.stringify(x)).not.toMatch(/"ann"|"pm"/);
      expect(x.source.studyInstanceUid).toMatch(/^2\.25\./);
    }
  });

  it('the balance report (JSON and HTML) flags the under-represented group', () => {
    const report = JSON.parse(text('report/balance.json'));
    expect(report.warnings.some((w: { attribute: string; value: string; kind: string }) => w.attribute === 'sex' && w.value === 'F' && w.kind === 'under-represented')).toBe(true);
    const html = text('report/balance.html');
    expect(html).toMatch(/<svg/);
    expect(html).toMatch(/sex = F/);
    expect(html).not.toMatch(/North Hospital|South Hospital/);
  });

  it('serves the same balance report page to the dashboard', async () => {
    const res = await sys.http().get(`/api/projects/${projectId}/exports/${firstExportId}/balance-report`).set(bearer(pm)).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toBe(text('report/balance.html'));
    await sys.http().get(`/api/projects/${projectId}/exports/${firstExportId}/balance-report`).set(bearer(ann)).expect(403);
  });

  it('without a validation case, finishes without splits_final.json and says why (it used to fail at 90 %)', async () => {
    const run = await runExport(sys, projectId, pm.token, { name: 'no-validation', options: { formats: ['nnunet'], split: { fractions: { train: 0.8, validation: 0, test: 0.2 }, seed: 7 } } }, 120_000);
    expect(run.report.report.notices.join(' ')).toMatch(/No validation case among the \d+ non-test case\(s\): nnunet\/splits_final.json is left out/);
    const names = Object.keys(run.files);
    expect(names).toContain('nnunet/dataset.json');
    expect(names).not.toContain('nnunet/splits_final.json');
  });

  it('exports an enhanced (multi-frame) CT as DICOM SEG and RTSTRUCT that reference its frames (the export failed before)', async () => {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'enhanced', settings: { quality: { reads: 1, reviewRequired: false } } }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${project}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Region A', color: '#ff0000' }, { id: 2, name: 'Region B', color: '#00ff00' }], annotationTypes: [{ kind: 'segmentation-3d' }] }).expect(201);
    await sys.http().post(`/api/projects/${project}/uploads`).set(bearer(pm)).attach('files', dataPath('dicom/modalities/enhanced-ct-2frames.dcm')).expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${project}/tasks?state=ready`).set(bearer(pm))).body.length === 1, 30_000);
    await annotateAll(project);
    await eventually(async () => (await approvedCount(project)) === 1, 30_000);
    const { report, files: z } = await runExport(sys, project, pm.token, { options: { formats: ['dicom-seg', 'rtstruct'] } });
    expect(report.state).toBe('done');
    for (const [format, frames] of [
      ['dicom-seg', 'sorted(set(int(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber) for f in d.PerFrameFunctionalGroupsSequence))'],
      ['rtstruct', 'sorted(set(int(c.ContourImageSequence[0].ReferencedFrameNumber) for r in d.ROIContourSequence for c in r.ContourSequence))'],
    ]) {
      const file = Object.keys(z).find((f) => f.startsWith(`${format}/`));
      expect(file).toBeDefined();
      const { stdout, stderr } = await run('/usr/bin/dciodvfy', [write(file!, z)]).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${stdout}${stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
      const { stdout: read } = await run(PY, ['-c', `import pydicom,sys; d=pydicom.dcmread(sys.argv[1]); print(${frames})`, write(file!, z)]);
      // annotateAll paints label 1 on even slices and 2 on odd ones: both frames carry a label.
      expect(read.trim()).toBe('[1, 2]');
    }
  });

  it('exports frame ranges of an ultrasound cine as DICOM SEGs that reference each range\'s frames (none were written before)', async () => {
    const project = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'cine', settings: { quality: { reads: 1, reviewRequired: false }, split: { policy: 'frames', framesPerTask: 5 }, deid: { burnedInHold: 'declared' } } }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${project}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${project}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Region A', color: '#ff0000' }, { id: 2, name: 'Region B', color: '#00ff00' }], annotationTypes: [{ kind: 'segmentation-2d' }] }).expect(201);
    await sys.http().post(`/api/projects/${project}/uploads`).set(bearer(pm)).attach('files', dataPath('dicom/modalities/us-multiframe-8.dcm')).expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${project}/tasks?state=ready`).set(bearer(pm))).body.length === 2, 30_000);
    await annotateAll(project);
    await eventually(async () => (await approvedCount(project)) === 2, 30_000);
    const { files: z } = await runExport(sys, project, pm.token, { options: { formats: ['dicom-seg'] } });
    const segs = Object.keys(z).filter((f) => f.startsWith('dicom-seg/'));
    expect(segs).toHaveLength(2);
    const referenced: number[][] = [];
    for (const f of segs) {
      const { stdout, stderr } = await run('/usr/bin/dciodvfy', [write(f, z)]).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${stdout}${stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
      const { stdout: read } = await run(PY, ['-c', `import json,pydicom,sys; d=pydicom.dcmread(sys.argv[1]); print(json.dumps(sorted(set(int(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber) for f in d.PerFrameFunctionalGroupsSequence))))`, write(f, z)]);
      referenced.push(JSON.parse(read));
    }
    // Frames 0-4 and 5-7 (1-based in DICOM): every frame is painted, each SEG names its own range.
    expect(referenced.sort((a, b) => a[0] - b[0])).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8],
    ]);
  });

  it('exports 2D tasks as COCO with windowed PNGs, and a radiograph\'s mask as a DICOM SEG (no RTSTRUCT, and the case says why)', async () => {
    const coco = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'coco', settings: { quality: { reads: 1, reviewRequired: false }, split: { policy: 'image' } } }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${coco}/members/${ann.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Annotator] }).expect(204);
    await sys.http().post(`/api/projects/${coco}/protocols`).set(bearer(pm)).send({ labels: [{ id: 1, name: 'Region A', color: '#ff0000' }, { id: 2, name: 'Region B', color: '#00ff00' }], annotationTypes: [{ kind: 'segmentation-2d' }] }).expect(201);
    await sys.http().post(`/api/projects/${coco}/uploads`).set(bearer(pm)).attach('files', dataPath('dicom/modalities/dx-xray.dcm')).expect(202);
    await eventually(async () => (await sys.http().get(`/api/projects/${coco}/tasks?state=ready`).set(bearer(pm))).body.length === 1, 30_000);
    await annotateAll(coco);
    await eventually(async () => (await approvedCount(coco)) === 1, 30_000);
    const { files: z } = await runExport(sys, coco, pm.token, { options: { formats: ['coco', 'dicom-seg', 'rtstruct'] } });
    // The radiograph has no patient geometry: its SEG is pixel for pixel on it (valid per dciodvfy, referencing
    // the de-identified image); an RTSTRUCT (contours in patient coordinates) cannot be made, and the case says why.
    const segFile = Object.keys(z).find((f) => f.startsWith('dicom-seg/'))!;
    expect(segFile).toBeDefined();
    expect(Object.keys(z).filter((f) => f.startsWith('rtstruct/'))).toEqual([]);
    const { stdout, stderr } = await run('/usr/bin/dciodvfy', [write(segFile, z)]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${stdout}${stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
    const { stdout: seg } = await run(PY, ['-c', `import pydicom,sys; d=pydicom.dcmread(sys.argv[1]); print(d.Modality, d.NumberOfFrames, 'FrameOfReferenceUID' in d, d.PatientIdentityRemoved, d.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID.startswith('2.25.'))`, write(segFile, z)]);
    expect(seg.trim()).toBe('SEG 1 False YES True');
    const manifest = JSON.parse(Buffer.from(z[Object.keys(z).find((f) => f.startsWith('manifests/'))!]).toString());
    expect(manifest.notWritten).toEqual([expect.stringMatching(/^rtstruct: Source instance .* has no Image Position \(Patient\), so its slice cannot be placed$/)]);
    const ann2 = JSON.parse(Buffer.from(z['coco/annotations.json']).toString());
    expect(ann2.images[0]).toMatchObject({ width: 211, height: 169 });
    expect(ann2.annotations.length).toBeGreaterThanOrEqual(1);
    expect(ann2.annotations[0].segmentation.counts.length).toBeGreaterThan(1);
    const png = Object.keys(z).find((f) => f.endsWith('.png'))!;
    expect(Buffer.from(z[png]).subarray(1, 4).toString()).toBe('PNG');
  });

  it("a manager who reads a task still collecting its reads cannot export the other readers' reads of it (blinding held in the task view only)", async () => {
    const pm2 = await sys.user('pm2', [Role.Manager]);
    const id = (await sys.http().post('/api/projects').set(bearer(pm)).send({ name: 'blind export', settings: { quality: { reads: 2 } } }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${id}/members/${pm.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Manager, ProjectRole.Annotator] }).expect(204);
    await sys.http().put(`/api/projects/${id}/members/${pm2.id}`).set(bearer(pm)).send({ roles: [ProjectRole.Manager] }).expect(204);
    await uploadPhantomTask(sys, pm.token, id, 'blind-export', [8, 8, 2]);
    await sys.http().post(`/api/projects/${id}/tasks/next`).set(bearer(pm)).expect(200);
    const reads = (u: U, states: string[]) => sys.http().post(`/api/projects/${id}/exports`).set(bearer(u)).send({ options: { labelVersion: 'reads', formats: ['nnunet'], filters: { states } } });
    const refused = await reads(pm, ['in_annotation', 'approved']).expect(403);
    expect(refused.body.message).toMatch(/still collecting their reads \(in_annotation\).*Leave those states out/);
    // Finished tasks only, final labels, or another manager: allowed.
    await reads(pm, ['approved']).expect(202);
    await sys.http().post(`/api/projects/${id}/exports`).set(bearer(pm)).send({ options: { formats: ['nnunet'], filters: { states: ['in_annotation'] } } }).expect(202);
    await reads(pm2, ['in_annotation']).expect(202);
  });
});
