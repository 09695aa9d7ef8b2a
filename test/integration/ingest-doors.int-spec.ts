// Every door into Contour against real peers: DCMTK's storescu (C-STORE), a hand-built STOW-RS request, a zip
// upload, and a real Orthanc PACS queried and retrieved over DICOMweb; then the data read back over QIDO-RS
// and WADO-RS (instances, metadata, frames, rendered) with role checks.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { CONFIG, ContourConfig } from '@contour/config';
import { Role } from '@contour/db';
import { DicomWebClient, spoolMultipart, parseContentType } from '@contour/dicomweb';
import { readDicom } from '@contour/dicom';
import { Readable } from 'node:stream';
import { dataPath } from '../support/env';
import { startOrthanc, Orthanc } from '../support/orthanc';
import { freePort } from '../support/processes';
import { binary, eventually, startSystem, TestSystem } from '../support/system';

const run = promisify(execFile);
const MR_DIR = dataPath('dicom/series/mr-t1-vs-seg-001');
const mrFiles = () => readdirSync(MR_DIR).map((f) => join(MR_DIR, f));

describe('ingest doors', () => {
  let sys: TestSystem;
  let dicomPort: number;
  let projectId: string;
  let manager: { id: string; token: string };
  let annotator: { id: string; token: string };
  let outsider: { id: string; token: string };
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  /** The path of an absolute URL an answer gave (supertest takes paths). */
  const pathOf = (url: string) => new URL(url).pathname;

  beforeAll(async () => {
    dicomPort = await freePort();
    sys = await startSystem({ worker: true, env: { DICOM_PORT: String(dicomPort), STOW_WAIT_SECONDS: '60' } });
    manager = await sys.user('pm', [Role.Manager]);
    annotator = await sys.user('ann', [Role.Annotator]);
    outsider = await sys.user('out', [Role.Annotator]);
    // Ultrasound here is served to annotators as it comes (the default hold would keep it for a manager's look:
    // privacy-hold.int-spec covers that).
    projectId = (await sys.http().post('/api/projects').set(bearer(manager.token)).send({ name: 'doors', settings: { deid: { burnedInHold: 'declared' } } }).expect(201)).body.id;
    await sys.http().put(`/api/projects/${projectId}/members/${annotator.id}`).set(bearer(manager.token)).send({ roles: ['annotator'] }).expect(204);
  });
  afterAll(() => sys.close());

  const instanceCount = async () => (await sys.db.dataSource.query(`SELECT count(*)::int AS n FROM instances WHERE project_id = $1`, [projectId]))[0].n as number;
  const batchDone = (batchId: string) =>
    eventually(async () => {
      const b = (await sys.http().get(`/api/projects/${projectId}/uploads/${batchId}?items=true`).set(bearer(manager.token))).body;
      return b.done && b.total > 0 ? b : null;
    }, 60_000);

  describe('C-STORE (DCMTK storescu)', () => {
    it('rejects an association from an unknown calling AE (no route, no default project)', async () => {
      await expect(run('storescu', ['-aet', 'STRANGER', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort), dataPath('dicom/modalities/ct-small.dcm')])).rejects.toThrow(/Association Rejected|rejected/i);
    });

    it('rejects a wrong called AE title', async () => {
      await sys.http().put(`/api/projects/${projectId}/ae-routes/STORESCU`).set(bearer(manager.token)).expect(204);
      await expect(run('storescu', ['-aet', 'STORESCU', '-aec', 'NOTCONTOUR', '127.0.0.1', String(dicomPort), dataPath('dicom/modalities/ct-small.dcm')])).rejects.toThrow(/Association Rejected|rejected/i);
    });

    it('drops a connection whose PDU announces gigabytes (it made the coordinator gather them: 5 GB of memory), and keeps serving', async () => {
      const socket = connect(dicomPort, '127.0.0.1');
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // An A-ASSOCIATE-RQ header announcing 4 GB, then zeros, as fast as the socket takes them.
      socket.write(Buffer.from([0x01, 0x00, 0xff, 0xff, 0xff, 0xf0]));
      const zeros = Buffer.alloc(1 << 20);
      let sent = 0;
      const pump = setInterval(() => {
        if (!socket.destroyed && sent < 64) {
          socket.write(zeros);
          sent++;
        }
      }, 5);
      await closed;
      clearInterval(pump);
      expect(sent).toBeLessThan(64);
      await run('echoscu', ['-aet', 'STORESCU', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort)]);
    }, 30_000);

    it('stores a whole MR series sent by storescu into the routed project', async () => {
      const before = await instanceCount();
      const { stdout, stderr } = await run('storescu', ['-v', '-aet', 'STORESCU', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort), ...mrFiles()]);
      expect(`${stdout}${stderr}`).not.toMatch(/Store Failed|Error/);
      await eventually(async () => (await instanceCount()) === before + 24, 60_000);
      const [batch] = (await sys.http().get(`/api/projects/${projectId}/uploads`).set(bearer(manager.token))).body;
      expect(batch).toMatchObject({ source: 'c-store', label: expect.stringMatching(/C-STORE from STORESCU/) });
      const audit = (await sys.http().get(`/api/projects/${projectId}/audit?action=ingest.item.received&limit=1`).set(bearer(manager.token))).body;
      expect(audit[0].actorName).toBe('dicom:STORESCU');
      // The original SOP Instance UIDs stay in the re-identification key: not in item names (they were), not in the
      // instances' stored geometry records (they were), not in the audit trail.
      const originals = mrFiles().map((f) => readDicom(readFileSync(f)).sopInstanceUid);
      const [{ items, attributes, audits }] = await sys.db.dataSource.query(
        `SELECT (SELECT string_agg(file_name, ' ') FROM ingest_items WHERE batch_id = $2) AS items,
                (SELECT string_agg(attributes::text, ' ') FROM instances WHERE project_id = $1) AS attributes,
                (SELECT string_agg(details::text, ' ') FROM audit_events WHERE project_id = $1) AS audits`,
        [projectId, batch.id],
      );
      expect(items.split(' ').sort()).toEqual(Array.from({ length: 24 }, (_, n) => `image-${n + 1}.dcm`).sort());
      for (const uid of originals) {
        expect(attributes).not.toContain(uid);
        expect(audits).not.toContain(uid);
      }
      const [{ keys }] = await sys.db.dataSource.query(`SELECT string_agg(original::text, ' ') AS keys FROM reid_keys WHERE project_id = $1`, [projectId]);
      for (const uid of originals) expect(keys).toContain(uid);
    });

    it('takes the non-image objects a PACS pushes with a study: SEG, RTSTRUCT, ECG (refused before: no presentation context)', async () => {
      const files = ['dicom/segmentations/ct-3slice-liver-seg.dcm', 'dicom/modalities/rtstruct-breast-10roi.dcm', 'dicom/modalities/ecg-waveform.dcm'].map((f) => dataPath(f));
      // -R: propose exactly the SOP classes of the files, as a PACS does (storescu's default list has no SEG).
      const { stdout, stderr } = await run('storescu', ['-v', '-R', '-aet', 'STORESCU', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort), ...files]);
      expect(`${stdout}${stderr}`).not.toMatch(/Store Failed|Error|No presentation context/);
      const stored = await eventually(async () => {
        const rows: { sop_class_uid: string }[] = await sys.db.dataSource.query(`SELECT sop_class_uid FROM instances WHERE project_id = $1 AND sop_class_uid = ANY($2)`, [projectId, ['1.2.840.10008.5.1.4.1.1.66.4', '1.2.840.10008.5.1.4.1.1.481.3', '1.2.840.10008.5.1.4.1.1.9.1.1']]);
        return rows.length === 3 ? rows : null;
      }, 60_000);
      expect(stored.map((r) => r.sop_class_uid).sort()).toEqual(['1.2.840.10008.5.1.4.1.1.481.3', '1.2.840.10008.5.1.4.1.1.66.4', '1.2.840.10008.5.1.4.1.1.9.1.1']);
    });

    it('an instance already uploaded over HTTP and pushed again over C-STORE is a duplicate, not a conflict (the file meta differs: it was quarantined)', async () => {
      const file = dataPath('dicom/modalities/mr-small.dcm');
      const up = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(manager.token)).attach('files', file).expect(202);
      expect((await batchDone(up.body.batchId)).counts).toMatchObject({ stored: 1 });
      await run('storescu', ['-R', '-aet', 'STORESCU', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort), file]);
      const item = await eventually(async () => {
        // The item of the last C-STORE association.
        const [row] = await sys.db.dataSource.query(
          `SELECT i.status, i.reason_code FROM ingest_items i JOIN ingest_batches b ON b.id = i.batch_id WHERE i.project_id = $1 AND b.source = 'c-store' ORDER BY i.created_at DESC LIMIT 1`,
          [projectId],
        );
        return row && row.status !== 'queued' && row.status !== 'processing' ? row : null;
      }, 30_000);
      expect(item).toEqual({ status: 'duplicate', reason_code: null });
    });

    it('a C-STORE cut off midway (the sender killed) leaves no partial file in the spool (it stayed, with the original identifiers)', async () => {
      // A 100 MB CT slice: large enough that storescu is still sending when it is killed.
      const dir = mkdtempSync(join(tmpdir(), 'cstore-cut-'));
      const big = join(dir, 'big.dcm');
      await run('/usr/bin/python3', ['-c', [
        'import sys, numpy as np, pydicom',
        'd = pydicom.dcmread(sys.argv[1]); d.Rows = 7000; d.Columns = 7000',
        'd.PixelData = np.zeros((7000, 7000), dtype=np.uint16).tobytes(); d.save_as(sys.argv[2])',
      ].join('\n'), dataPath('dicom/series/ct-3slice/01.dcm'), big]);
      const spool = join(sys.app.get<ContourConfig>(CONFIG).dataDir, 'incoming');
      const partial = () => readdirSync(spool).filter((f) => f.startsWith('cstore-'));
      const sender = execFile('storescu', ['-aet', 'STORESCU', '-aec', 'CONTOUR', '--max-send-pdu', '16384', '127.0.0.1', String(dicomPort), big]);
      await eventually(async () => (partial().length ? true : null), 30_000, 5);
      sender.kill('SIGKILL');
      await eventually(async () => (partial().length === 0 ? true : null), 10_000);
      expect(partial()).toEqual([]);
    });

    it('answers C-ECHO', async () => {
      const { stderr, stdout } = await run('echoscu', ['-v', '-aet', 'STORESCU', '-aec', 'CONTOUR', '127.0.0.1', String(dicomPort)]);
      expect(`${stdout}${stderr}`).toMatch(/Received Echo Response \(Success\)/);
    });
  });

  describe('STOW-RS', () => {
    const stowBody = (files: Buffer[], boundary: string) =>
      Buffer.concat([...files.flatMap((f) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), f, Buffer.from('\r\n')]), Buffer.from(`--${boundary}--\r\n`)]);

    it('stores instances and answers with the stored references (200)', async () => {
      const files = [readFileSync(dataPath('dicom/modalities/ct-small.dcm')), readFileSync(dataPath('dicom/modalities/dx-xray.dcm'))];
      const res = await sys
        .http()
        .post(`/dicom-web/projects/${projectId}/studies`)
        .set(bearer(manager.token))
        .set('content-type', 'multipart/related; type="application/dicom"; boundary=STOWBOUNDARY')
        .send(stowBody(files, 'STOWBOUNDARY'));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/application\/dicom\+json/);
      const body = JSON.parse(res.text);
      expect(body['00081199'].Value).toHaveLength(2);
      expect(body['00081199'].Value[0]['00081190'].Value[0]).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/dicom-web/projects/${projectId}/studies/[0-9.]+/series/[0-9.]+/instances/[0-9.]+$`));
      // Two studies stored: the top-level Retrieve URL is the studies resource (one study: that study, as below).
      expect(body['00081190'].Value[0]).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/dicom-web/projects/${projectId}/studies$`));
    });

    it('reports a broken part as failed (202) and still stores the good one', async () => {
      const res = await sys
        .http()
        .post(`/dicom-web/projects/${projectId}/studies`)
        .set(bearer(manager.token))
        .set('content-type', 'multipart/related; type="application/dicom"; boundary=B2')
        .send(stowBody([readFileSync(dataPath('dicom/broken/not-dicom.txt.dcm')), readFileSync(dataPath('dicom/modalities/mr-small.dcm')), readFileSync(dataPath('dicom/broken/jpeg2000-too-short.dcm'))], 'B2'));
      expect(res.status).toBe(202);
      const body = JSON.parse(res.text);
      // A part readable far enough to name itself is answered with the UIDs it was sent with (PS3.18: Type 1; they were missing).
      const short = readDicom(readFileSync(dataPath('dicom/broken/jpeg2000-too-short.dcm')), { untilPixelData: true });
      expect(body['00081198'].Value).toEqual([
        { '00081197': { vr: 'US', Value: [0xc000] } },
        { '00081150': { vr: 'UI', Value: [short.sopClassUid] }, '00081155': { vr: 'UI', Value: [short.sopInstanceUid] }, '00081197': { vr: 'US', Value: [0xc000] } },
      ]);
      expect(body['00081199'].Value).toHaveLength(1);
      expect(res.headers.warning).toMatch(/not DICOM/);
    });

    it('a refused part that the strict reader cannot parse but that names itself is answered with its UIDs, as pydicom reads them (they were missing)', async () => {
      const names = ['bad-vr.dcm', 'rtplan-truncated.dcm', 'bad-sequence.dcm'];
      const res = await sys
        .http()
        .post(`/dicom-web/projects/${projectId}/studies`)
        .set(bearer(manager.token))
        .set('content-type', 'multipart/related; type="application/dicom"; boundary=B3')
        .send(stowBody(names.map((n) => readFileSync(dataPath(`dicom/broken/${n}`))), 'B3'));
      expect(res.status).toBe(409);
      const expected = JSON.parse((await run('/usr/bin/python3', ['-c', [
        'import sys, json, pydicom',
        'out = []',
        'for f in sys.argv[1:]:',
        '    d = pydicom.dcmread(f, force=True, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID"])',
        // A UID that is not one (bad-sequence.dcm's SOP Instance UID is hex) cannot be answered as sent: no UIDs then.
        '    uids = [str(d.SOPClassUID), str(d.SOPInstanceUID)]',
        '    out.append(uids if all(u and set(u) <= set("0123456789.") for u in uids) else [None, None])',
        'print(json.dumps(out))',
      ].join('\n'), ...names.map((n) => dataPath(`dicom/broken/${n}`))])).stdout) as [string | null, string | null][];
      expect(expected.filter(([c]) => c).length).toBeGreaterThanOrEqual(2);
      const failed = JSON.parse(res.text)['00081198'].Value as Record<string, { Value: unknown[] }>[];
      expect(failed.map((f) => [f['00081150']?.Value[0] ?? null, f['00081155']?.Value[0] ?? null])).toEqual(expected);
    });

    it('POST /studies/{study} stores only the instances of that study, addressed by the UID sent or the de-identified one served; the others are failed with 0xA901 (they were stored)', async () => {
      const stow = (study: string, files: Buffer[]) =>
        sys.http().post(`/dicom-web/projects/${projectId}/studies/${study}`).set(bearer(manager.token)).set('content-type', 'multipart/related; type="application/dicom"; boundary=SB').send(stowBody(files, 'SB'));
      const ts1 = readFileSync(dataPath('dicom/transfer-syntaxes/1.dcm'));
      const ts2 = readFileSync(dataPath('dicom/transfer-syntaxes/2.dcm'));
      const otherStudy = readFileSync(dataPath('dicom/modalities/enhanced-mr-10frames.dcm'));
      const sourceStudy = readDicom(ts1, { untilPixelData: true }).dataset.StudyInstanceUID as string;
      const other = readDicom(otherStudy, { untilPixelData: true });
      const before = await instanceCount();

      // Addressed by the Study Instance UID the sender knows: the instance of another study is not stored.
      const res = await stow(sourceStudy, [ts1, otherStudy]);
      expect(res.status).toBe(202);
      const body = JSON.parse(res.text);
      expect(body['00081199'].Value).toHaveLength(1);
      expect(body['00081198'].Value).toEqual([{ '00081150': { vr: 'UI', Value: [other.sopClassUid] }, '00081155': { vr: 'UI', Value: [other.sopInstanceUid] }, '00081197': { vr: 'US', Value: [0xa901] } }]);
      expect(res.headers.warning).toMatch(/Study Instance UID .* is not the study .* addressed/);
      expect(await instanceCount()).toBe(before + 1);
      // The study is served under its de-identified UID: the response's Retrieve URL names it, not the source UID.
      const served = /\/studies\/([0-9.]+)\/series\//.exec(body['00081199'].Value[0]['00081190'].Value[0])![1];
      expect(served).not.toBe(sourceStudy);
      expect(body['00081190'].Value[0]).toMatch(new RegExp(`/studies/${served.replace(/\./g, '\\.')}$`));

      // Addressed by the de-identified UID a client got from QIDO-RS: an instance of that (source) study belongs.
      const again = await stow(served, [ts2]);
      expect(again.status).toBe(200);
      expect(JSON.parse(again.text)['00081199'].Value[0]['00081190'].Value[0]).toContain(`/studies/${served}/series/`);
      expect(await instanceCount()).toBe(before + 2);

      // Nothing of the target study: nothing stored, 409.
      const none = await stow('2.25.1234567', [otherStudy]);
      expect(none.status).toBe(409);
      expect(JSON.parse(none.text)['00081198'].Value[0]['00081197']).toEqual({ vr: 'US', Value: [0xa901] });
      expect(await instanceCount()).toBe(before + 2);
    });

    it('a body cut short is a 400 and leaves no spooled part on disk (they were kept)', async () => {
      const dir = join(sys.app.get<ContourConfig>(CONFIG).dataDir, 'incoming');
      const before = readdirSync(dir).sort();
      const full = stowBody([readFileSync(dataPath('dicom/modalities/ct-small.dcm')), readFileSync(dataPath('dicom/modalities/mr-small.dcm'))], 'CUT');
      const res = await sys.http().post(`/dicom-web/projects/${projectId}/studies`).set(bearer(manager.token)).set('content-type', 'multipart/related; type="application/dicom"; boundary=CUT').send(full.subarray(0, full.length - 200)).expect(400);
      expect(res.body.message).toMatch(/ended before the closing boundary/);
      expect(readdirSync(dir).sort()).toEqual(before);
    });

    it('refuses the wrong content type (415), annotators (403) and anonymous callers (401)', async () => {
      await sys.http().post(`/dicom-web/projects/${projectId}/studies`).set(bearer(manager.token)).set('content-type', 'application/json').send('{}').expect(415);
      // A multipart body labelled JSON is a 415 that says what to send (it was a 400 from the JSON parser: "Unexpected token '-'").
      const asJson = await sys.http().post(`/dicom-web/projects/${projectId}/studies`).set(bearer(manager.token)).set('content-type', 'application/json').send('--BOUNDARY\r\n\r\nx\r\n--BOUNDARY--').expect(415);
      expect(asJson.body.message).toMatch(/STOW-RS needs Content-Type multipart\/related/);
      await sys.http().post(`/dicom-web/projects/${projectId}/studies`).set(bearer(annotator.token)).set('content-type', 'multipart/related; boundary=x').send('--x--').expect(403);
      await sys.http().post(`/dicom-web/projects/${projectId}/studies`).set('content-type', 'multipart/related; boundary=x').send('--x--').expect(401);
    });
  });

  describe('zip upload', () => {
    it('unpacks a zip of a series (with a junk entry) and stores every slice', async () => {
      const entries: Record<string, Uint8Array> = {};
      for (const f of readdirSync(dataPath('dicom/series/ct-3slice'))) entries[`ct/${f}`] = readFileSync(dataPath('dicom/series/ct-3slice', f));
      entries['ct/readme.txt'] = Buffer.from('not an image');
      entries['__MACOSX/ct/._01.dcm'] = Buffer.from('resource fork');
      const up = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(manager.token)).attach('files', Buffer.from(zipSync(entries)), 'ct.zip').expect(202);
      const b = await batchDone(up.body.batchId);
      expect(b.total).toBe(4);
      expect(b.counts).toMatchObject({ stored: 3, quarantined: 1 });
      expect(b.items.find((i: { fileName: string }) => i.fileName === 'ct.zip/ct/readme.txt').reasonCode).toBe('not-dicom');
    });

    const incoming = () => readdirSync(join(sys.app.get<ContourConfig>(CONFIG).dataDir, 'incoming')).sort();

    it('refuses a corrupt zip with a clear 400, and nothing of the request stays on disk (its files were kept)', async () => {
      const before = incoming();
      const res = await sys
        .http()
        .post(`/api/projects/${projectId}/uploads`)
        .set(bearer(manager.token))
        .attach('files', readFileSync(dataPath('dicom/modalities/ct-small.dcm')), 'first.dcm')
        .attach('files', Buffer.from('PK\u0003\u0004 broken'), 'broken.zip')
        .expect(400);
      expect(res.body.message).toMatch(/broken.zip is not a readable zip archive/);
      expect(incoming()).toEqual(before);
    });

    it('a zip sent without a zip name or type is still unpacked (it was quarantined as "not DICOM")', async () => {
      const entries: Record<string, Uint8Array> = { 'one.dcm': readFileSync(dataPath('dicom/modalities/mr-small.dcm')) };
      const up = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(manager.token)).attach('files', Buffer.from(zipSync(entries)), { filename: 'export', contentType: 'application/octet-stream' }).expect(202);
      const b = await batchDone(up.body.batchId);
      expect(b.items.map((i: { fileName: string }) => i.fileName)).toEqual(['export/one.dcm']);
      expect(['stored', 'duplicate']).toContain(b.items[0].status);
    });
  });

  describe('an instance received again', () => {
    const uploadOne = async (data: Buffer, name: string) => {
      const up = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(manager.token)).attach('files', data, name).expect(202);
      return (await batchDone(up.body.batchId)).items[0] as { status: string; reasonCode: string | null; reason: string | null };
    };

    it('in another transfer syntax (RLE by DCMTK) is a duplicate (it was quarantined as a conflict); with other pixels under the same UID it is a conflict', async () => {
      const original = readFileSync(dataPath('dicom/modalities/mr-small.dcm'));
      expect(['stored', 'duplicate']).toContain((await uploadOne(original, 'mr.dcm')).status);
      const dir = mkdtempSync(join(tmpdir(), 'again-'));
      writeFileSync(join(dir, 'in.dcm'), original);
      await run('dcmcrle', [join(dir, 'in.dcm'), join(dir, 'rle.dcm')]);
      const rle = readFileSync(join(dir, 'rle.dcm'));
      expect(readDicom(rle, { untilPixelData: true }).transferSyntaxUid).toBe('1.2.840.10008.1.2.5');
      expect(await uploadOne(rle, 'mr-rle.dcm')).toMatchObject({ status: 'duplicate', reasonCode: null });
      // The same UID over other pixel values: 64 bytes inside the (uncompressed, Explicit VR LE) pixel data changed.
      const other = Buffer.from(original);
      const pixels = other.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00])) + 12;
      for (let i = pixels + 100; i < pixels + 164; i++) other[i] ^= 0x5a;
      expect(await uploadOne(other, 'mr-other.dcm')).toMatchObject({ status: 'quarantined', reasonCode: 'conflicting-duplicate', reason: expect.stringMatching(/same SOP Instance UID but different content/) });
    });

    it('with the same pixels but another patient, study or window is a conflict (it was a duplicate, and dropped); an RT structure set sent with implicit VRs and again with explicit ones is a duplicate (it was a conflict)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'again-attrs-'));
      const copy = async (name: string, change: string) => {
        writeFileSync(join(dir, name), readFileSync(dataPath('dicom/modalities/mr-small.dcm')));
        await run('dcmodify', ['-nb', '-m', change, join(dir, name)]);
        return readFileSync(join(dir, name));
      };
      for (const [name, change] of [['patient.dcm', 'PatientID=OTHER-PATIENT-999'], ['study.dcm', 'StudyInstanceUID=1.2.3.4.5.6.7.8.9'], ['window.dcm', 'WindowCenter=999']]) {
        expect({ name, ...(await uploadOne(await copy(name, change), name)) }).toMatchObject({ name, status: 'quarantined', reasonCode: 'conflicting-duplicate' });
      }
      const rt = dataPath('dicom/modalities/rtstruct-breast-10roi.dcm');
      await run('dcmconv', ['+ti', rt, join(dir, 'rt-implicit.dcm')]);
      await run('dcmconv', ['+te', rt, join(dir, 'rt-explicit.dcm')]);
      expect(['stored', 'duplicate']).toContain((await uploadOne(readFileSync(join(dir, 'rt-implicit.dcm')), 'rt-implicit.dcm')).status);
      expect(await uploadOne(readFileSync(join(dir, 'rt-explicit.dcm')), 'rt-explicit.dcm')).toMatchObject({ status: 'duplicate', reasonCode: null });
    });
  });

  describe('QIDO-RS and WADO-RS', () => {
    it('searches studies, series and instances as DICOM JSON', async () => {
      const studies = await sys.http().get(`/dicom-web/projects/${projectId}/studies`).set(bearer(annotator.token)).expect(200);
      const list = JSON.parse(studies.text);
      expect(list.length).toBeGreaterThanOrEqual(3);
      const mr = list.find((s: Record<string, { Value?: unknown[] }>) => (s['00080061'].Value as string[]).includes('MR') && Number(s['00201208'].Value![0]) === 24);
      expect(mr).toBeDefined();
      const studyUid = mr['0020000D'].Value[0];
      const series = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series`).set(bearer(annotator.token)).expect(200)).text);
      expect(series).toHaveLength(1);
      const seriesUid = series[0]['0020000E'].Value[0];
      const instances = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}/instances?limit=5`).set(bearer(annotator.token)).expect(200)).text);
      expect(instances).toHaveLength(5);
      await sys.http().get(`/dicom-web/projects/${projectId}/studies?StudyDate=19000101`).set(bearer(annotator.token)).expect(204);
      const bad = await sys.http().get(`/dicom-web/projects/${projectId}/studies?PatientWeight=7`).set(bearer(annotator.token)).expect(400);
      expect(bad.body.message).toMatch(/cannot match on "PatientWeight"/);
      // Every instance of the project, as dicomweb-client's searchForInstances() asks without a study (it was 404).
      const all = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/instances?limit=3`).set(bearer(annotator.token)).expect(200)).text);
      expect(all).toHaveLength(3);
      expect(all[0]['00081190'].Value[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dicom-web\/projects\/.+\/instances\/[0-9.]+$/);
      // A patient's name matches in any case, exact or with a wildcard (the exact match was case-sensitive).
      const name = (mr['00100010'].Value[0] as { Alphabetic: string }).Alphabetic;
      for (const q of [name.toLowerCase(), name.toUpperCase(), `${name.slice(0, 4).toLowerCase()}*`]) {
        const found = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies?PatientName=${encodeURIComponent(q)}`).set(bearer(annotator.token)).expect(200)).text);
        expect(found.map((x: Record<string, { Value: string[] }>) => x['0020000D'].Value[0])).toContain(studyUid);
      }
      // A 401 names the scheme it takes.
      expect((await sys.http().get(`/dicom-web/projects/${projectId}/studies`).expect(401)).headers['www-authenticate']).toBe('Bearer realm="contour"');
    });

    it('answers the attributes includefield asks for (keywords or tags, repeated or comma-separated, or all) that the index keeps; an unknown keyword is a 400', async () => {
      const get = async (path: string) => JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}${path}`).set(bearer(annotator.token)).expect(200)).text);
      const mr = (await get('/studies?ModalitiesInStudy=MR')).find((s: Record<string, { Value?: unknown[] }>) => Number(s['00201208'].Value![0]) === 24);
      const studyUid = mr['0020000D'].Value[0];
      // Without includefield: the default attributes only.
      const [plain] = await get(`/studies/${studyUid}/series`);
      expect(plain['00200052']).toBeUndefined();
      const [series] = await get(`/studies/${studyUid}/series?includefield=FrameOfReferenceUID,StudyDate&includefield=00100020&includefield=PatientBirthDate`);
      expect(series['00200052'].Value[0]).toMatch(/^2\.25\.\d+$/); // the de-identified Frame of Reference UID
      expect(series['00100020'].Value[0]).toBe(mr['00100020'].Value[0]);
      expect(series['00080020']).toBeDefined();
      expect(series['00100030']).toBeUndefined(); // a valid keyword Contour does not keep: absent
      const seriesUid = series['0020000E'].Value[0];
      const [inst] = await get(`/studies/${studyUid}/series/${seriesUid}/instances?limit=1&includefield=all`);
      expect(inst['00200032'].Value).toHaveLength(3);
      expect(inst['00200037'].Value).toHaveLength(6);
      expect(inst['00280030'].Value).toHaveLength(2);
      expect(inst['0008103E']).toBeDefined();
      expect(Object.keys(inst)).toEqual([...Object.keys(inst)].sort());
      const [study] = await get(`/studies?StudyInstanceUID=${studyUid}&includefield=all`);
      expect(study['00080062'].Value).toEqual(['1.2.840.10008.5.1.4.1.1.4']);
      const bad = await sys.http().get(`/dicom-web/projects/${projectId}/studies?includefield=StudyDate,PatientWeigth`).set(bearer(annotator.token)).expect(400);
      expect(bad.body.message).toMatch(/includefield "PatientWeigth" is neither a DICOM keyword nor a tag/);
      // Keys a viewer's study list sends that de-identification empties: matched, not refused (they were a 400).
      const byAccession = await sys.http().get(`/dicom-web/projects/${projectId}/studies?AccessionNumber=A-1234`).set(bearer(annotator.token));
      expect([200, 204]).toContain(byAccession.status);
      expect(byAccession.body.length ?? 0).toBe(0);
      expect(JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies?AccessionNumber=*&ReferringPhysicianName=*&StudyID=*`).set(bearer(annotator.token)).expect(200)).text).length).toBeGreaterThanOrEqual(3);
    });

    it('retrieves an instance and a series as multipart/related, audited, and metadata as DICOM JSON', async () => {
      // The 24-slice MR series (other MR studies in the project hold a single instance).
      const studies = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies?ModalitiesInStudy=MR`).set(bearer(annotator.token))).text);
      const study = studies.find((s: Record<string, { Value?: unknown[] }>) => Number(s['00201208'].Value![0]) === 24);
      const studyUid = study['0020000D'].Value[0];
      const [series] = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series`).set(bearer(annotator.token))).text);
      const seriesUid = series['0020000E'].Value[0];
      const [inst] = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}/instances?limit=1`).set(bearer(annotator.token))).text);
      const sop = inst['00080018'].Value[0];
      const res = await sys
        .http()
        .get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}/instances/${sop}`)
        .set(bearer(annotator.token))
        .set('accept', 'multipart/related; type="application/dicom"; transfer-syntax=*')
        .buffer(true)
        .parse(binary);
      expect(res.status).toBe(200);
      const ct = parseContentType(res.headers['content-type']);
      const dir = mkdtempSync(join(tmpdir(), 'wado-'));
      const parts = await spoolMultipart(Readable.from([res.body as Buffer]), ct.params.boundary, dir);
      expect(parts).toHaveLength(1);
      expect(readDicom(readFileSync(parts[0].path)).sopInstanceUid).toBe(sop);
      const whole = await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}`).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/dicom"; transfer-syntax=*').buffer(true).parse(binary);
      const all = await spoolMultipart(Readable.from([whole.body as Buffer]), parseContentType(whole.headers['content-type']).params.boundary, dir);
      expect(all).toHaveLength(24);
      const meta = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}/instances/${sop}/metadata`).set(bearer(annotator.token)).expect(200)).text);
      expect(meta[0]['00080018'].Value[0]).toBe(sop);
      // DICOM XML is not served: a 406 (it answered JSON to a client that asked for XML only).
      await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}/instances/${sop}/metadata`).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/dicom+xml"').expect(406);
      // The Pixel Data's BulkDataURI answers the decoded pixels (it was the instance's own URL).
      const pixelUri = pathOf(meta[0]['7FE00010'].BulkDataURI as string);
      expect(pixelUri).toMatch(new RegExp(`/instances/${sop}/bulkdata/7FE00010$`));
      const pixels = await sys.http().get(pixelUri).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/octet-stream"').buffer(true).parse(binary).expect(200);
      const [pixelPart] = await spoolMultipart(Readable.from([pixels.body as Buffer]), parseContentType(pixels.headers['content-type']).params.boundary, dir);
      expect(pixelPart.size).toBe(meta[0]['00280010'].Value[0] * meta[0]['00280011'].Value[0] * 2);
      expect(pixelPart.headers['content-type']).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
      const reads = (await sys.http().get(`/api/projects/${projectId}/audit?action=instance.read&limit=1000`).set(bearer(manager.token))).body;
      expect(reads.filter((r: { actorName: string }) => r.actorName === 'ann').length).toBeGreaterThanOrEqual(26);
    });

    it('frames of a binary SEG are served bit-packed, as their metadata (Bits Allocated 1) says (they were one byte a pixel)', async () => {
      const [row] = await sys.db.dataSource.query(
        `SELECT i.sop_instance_uid, se.series_instance_uid, st.study_instance_uid, i.rows, i.columns FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id
          WHERE i.project_id = $1 AND i.sop_class_uid = '1.2.840.10008.5.1.4.1.1.66.4' LIMIT 1`,
        [projectId],
      );
      const url = `/dicom-web/projects/${projectId}/studies/${row.study_instance_uid}/series/${row.series_instance_uid}/instances/${row.sop_instance_uid}`;
      const [meta] = JSON.parse((await sys.http().get(`${url}/metadata`).set(bearer(annotator.token)).expect(200)).text);
      expect(meta['00280100'].Value).toEqual([1]);
      const res = await sys.http().get(`${url}/frames/1,2`).set(bearer(annotator.token)).buffer(true).parse(binary).expect(200);
      const parts = await spoolMultipart(Readable.from([res.body as Buffer]), parseContentType(res.headers['content-type']).params.boundary, mkdtempSync(join(tmpdir(), 'seg-frames-')));
      expect(parts.map((p) => p.size)).toEqual([Math.ceil((row.rows * row.columns) / 8), Math.ceil((row.rows * row.columns) / 8)]);
      // The same bytes as the stored frames (Explicit VR Little Endian stores them packed).
      const stored = readDicom(readFileSync(dataPath('dicom/segmentations/ct-3slice-liver-seg.dcm'))).dataset.PixelData as ArrayBuffer[] | ArrayBuffer;
      const bytes = Buffer.from(Array.isArray(stored) ? stored[0] : stored);
      const frameBytes = (row.rows * row.columns) / 8;
      expect(readFileSync(parts[0].path).equals(bytes.subarray(0, frameBytes))).toBe(true);
    });

    it('instances the old converter refused come back as Explicit VR Little Endian by default, a whole study in one complete response (it answered 406, or ended a 200 midway); pydicom and dciodvfy read them', async () => {
      // A JPEG baseline with several fragments per frame, and a 1-bit SEG stored Implicit VR, together in one study
      // (the SEG is re-pointed at the ultrasound's study), as the helper found them: 406 alone, cut short together.
      const us = dataPath('dicom/modalities/us-multiframe-8-jpeg-baseline.dcm');
      const dir = mkdtempSync(join(tmpdir(), 'convert-'));
      const seg = join(dir, 'seg-in-us-study.dcm');
      await run('/usr/bin/python3', ['-c', [
        'import sys, pydicom',
        'u = pydicom.dcmread(sys.argv[1]); s = pydicom.dcmread(sys.argv[2])',
        's.StudyInstanceUID = u.StudyInstanceUID; s.PatientID = u.PatientID; s.PatientName = u.PatientName',
        's.save_as(sys.argv[3])',
      ].join('\n'), us, dataPath('dicom/segmentations/ct-binary-seg.dcm'), seg]);
      const up = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(manager.token)).attach('files', us).attach('files', seg).expect(202);
      const b = await batchDone(up.body.batchId);
      expect(b.items.map((i: { status: string }) => i.status).sort()).toEqual(['stored', 'stored']);
      const [row] = await sys.db.dataSource.query(`SELECT st.study_instance_uid FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id WHERE i.id = $1`, [b.items[0].instanceId]);
      const url = `/dicom-web/projects/${projectId}/studies/${row.study_instance_uid}`;
      for (const accept of [undefined, 'multipart/related; type="application/dicom"', 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50, multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1']) {
        const req = sys.http().get(url).set(bearer(annotator.token));
        const res = await (accept ? req.set('accept', accept) : req).buffer(true).parse(binary).expect(200);
        const boundary = parseContentType(res.headers['content-type']).params.boundary;
        expect((res.body as Buffer).toString('latin1').trimEnd().endsWith(`--${boundary}--`)).toBe(true);
        const parts = await spoolMultipart(Readable.from([res.body as Buffer]), boundary, mkdtempSync(join(dir, 'parts-')));
        expect(parts.map((p) => p.headers['content-type'])).toEqual(['application/dicom; transfer-syntax=1.2.840.10008.1.2.1', 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1']);
        const check = JSON.parse((await run('/usr/bin/python3', ['-c', [
          'import sys, json, pydicom',
          'out = []',
          'for f in sys.argv[1:]:',
          '    d = pydicom.dcmread(f); a = d.pixel_array',
          '    out.append({"ts": str(d.file_meta.TransferSyntaxUID), "modality": d.Modality, "shape": list(a.shape), "planar": "PlanarConfiguration" in d, "photometric": d.PhotometricInterpretation})',
          'print(json.dumps(sorted(out, key=lambda o: o["modality"])))',
        ].join('\n'), ...parts.map((p) => p.path)])).stdout);
        expect(check).toEqual([
          { ts: '1.2.840.10008.1.2.1', modality: 'SEG', shape: expect.any(Array), planar: false, photometric: 'MONOCHROME2' },
          { ts: '1.2.840.10008.1.2.1', modality: 'US', shape: expect.arrayContaining([3]), planar: true, photometric: 'RGB' },
        ]);
        // dciodvfy (dicom3tools) finds no error in either converted instance: no Planar Configuration on a monochrome image.
        for (const part of parts) {
          const { stdout, stderr } = await run('dciodvfy', [part.path]).catch((e: { stdout: string; stderr: string }) => e);
          expect(`${stdout}${stderr}`.split('\n').filter((l) => /^Error/.test(l) && /PlanarConfiguration|Pixel|Bits/.test(l))).toEqual([]);
        }
      }
      // As stored still works, and a syntax not every instance is in is refused with what can be had.
      const asStored = await sys.http().get(url).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/dicom"; transfer-syntax=*').buffer(true).parse(binary).expect(200);
      expect(asStored.headers['content-type']).toMatch(/^multipart\/related/);
      const refused = await sys.http().get(url).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50').expect(406);
      expect(refused.body.message).toMatch(/as stored \(transfer-syntax=\*\) or as Explicit VR Little Endian/);
    });

    it('serves frames (uncompressed pixel data, checked with pydicom) and rendered PNGs, audited', async () => {
      const studies = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies?ModalitiesInStudy=MR`).set(bearer(annotator.token))).text);
      const studyUid = studies.find((s: Record<string, { Value?: unknown[] }>) => Number(s['00201208'].Value![0]) === 24)['0020000D'].Value[0];
      const [series] = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series`).set(bearer(annotator.token))).text);
      const seriesUid = series['0020000E'].Value[0];
      const [inst] = JSON.parse((await sys.http().get(`/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}/instances?limit=1`).set(bearer(annotator.token))).text);
      const base = `/dicom-web/projects/${projectId}/studies/${studyUid}/series/${seriesUid}/instances/${inst['00080018'].Value[0]}`;
      const dir = mkdtempSync(join(tmpdir(), 'frames-'));
      // The stored (de-identified) instance, and its frame 1 over WADO-RS.
      const whole = await sys.http().get(base).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/dicom"; transfer-syntax=*').buffer(true).parse(binary);
      const [dcm] = await spoolMultipart(Readable.from([whole.body as Buffer]), parseContentType(whole.headers['content-type']).params.boundary, dir);
      const framesRes = await sys.http().get(`${base}/frames/1`).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/octet-stream"').buffer(true).parse(binary).expect(200);
      const [frame] = await spoolMultipart(Readable.from([framesRes.body as Buffer]), parseContentType(framesRes.headers['content-type']).params.boundary, dir);
      // The rendered image with a threshold window (width 1) at the frame's mean: every pixel is 0 or 255, and
      // which one follows from the modality values alone.
      const script = join(dir, 'check.py');
      writeFileSync(script, [
        'import sys, json, pydicom, numpy as np',
        'ds = pydicom.dcmread(sys.argv[1]); px = ds.pixel_array',
        'raw = np.frombuffer(open(sys.argv[2], "rb").read(), dtype=px.dtype.newbyteorder("<"))',
        'hu = px.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))',
        'print(json.dumps({"equal": bool(np.array_equal(raw.reshape(px.shape), px)), "rows": int(ds.Rows), "cols": int(ds.Columns), "threshold": float(np.round(hu.mean())), "values": hu.flatten().tolist()}))',
      ].join('\n'));
      const ref = JSON.parse((await run('/usr/bin/python3', [script, dcm.path, frame.path], { maxBuffer: 1 << 26 })).stdout);
      expect(ref.equal).toBe(true);
      const png = await sys.http().get(`${base}/frames/1/rendered?window=${ref.threshold + 0.5},1`).set(bearer(annotator.token)).set('accept', 'image/png').buffer(true).parse(binary).expect(200);
      expect(png.headers['content-type']).toMatch(/^image\/png/);
      const decoded = PNG.sync.read(png.body as Buffer);
      expect([decoded.width, decoded.height]).toEqual([ref.cols, ref.rows]);
      const wrong = (ref.values as number[]).filter((hu, i) => decoded.data[i * 4] !== (hu > ref.threshold ? 255 : 0)).length;
      expect(wrong).toBe(0);
      // Without a window: the stored one (or the frame's range); the instance-level URL renders frame 1.
      const plain = await sys.http().get(`${base}/rendered`).set(bearer(annotator.token)).buffer(true).parse(binary).expect(200);
      expect(PNG.sync.read(plain.body as Buffer).width).toBe(ref.cols);
      // Clear errors for what cannot be served.
      expect((await sys.http().get(`${base}/frames/2`).set(bearer(annotator.token)).expect(404)).body.message).toMatch(/Frame 2 does not exist: the instance has 1 frame/);
      expect((await sys.http().get(`${base}/frames/0,x`).set(bearer(annotator.token)).expect(400)).body.message).toMatch(/not a frame list/);
      expect((await sys.http().get(`${base}/rendered?window=40`).set(bearer(annotator.token)).expect(400)).body.message).toMatch(/window must be "center,width"/);
      // JPEG when asked for (it was 406), a viewport (it was 400), the window functions by their PS3.18 names.
      const jpg = await sys.http().get(`${base}/rendered?quality=80`).set(bearer(annotator.token)).set('accept', 'image/jpeg').buffer(true).parse(binary).expect(200);
      expect(jpg.headers['content-type']).toMatch(/^image\/jpeg/);
      expect([jpeg.decode(jpg.body as Buffer).width, jpeg.decode(jpg.body as Buffer).height]).toEqual([ref.cols, ref.rows]);
      const small = await sys.http().get(`${base}/rendered?viewport=64,64`).set(bearer(annotator.token)).buffer(true).parse(binary).expect(200);
      const fitted = PNG.sync.read(small.body as Buffer);
      expect(Math.max(fitted.width, fitted.height)).toBe(64);
      for (const fn of ['linear-exact', 'sigmoid', 'linear']) await sys.http().get(`${base}/rendered?window=${ref.threshold},400,${fn}`).set(bearer(annotator.token)).expect(200);
      expect((await sys.http().get(`${base}/rendered?viewport=64,64,0,0,9999,10`).set(bearer(annotator.token)).expect(400)).body.message).toMatch(/not inside the/);
      expect((await sys.http().get(`${base}/rendered`).set(bearer(annotator.token)).set('accept', 'image/gif').expect(406)).body.message).toMatch(/image\/png or image\/jpeg/);
      // Thumbnails of the instance, its series and its study: fitted in 128 x 128.
      const seriesUrl = base.slice(0, base.indexOf('/instances/'));
      const studyUrl = seriesUrl.slice(0, seriesUrl.indexOf('/series/'));
      for (const url of [`${base}/thumbnail`, `${base}/frames/1/thumbnail`, `${seriesUrl}/thumbnail`, `${studyUrl}/thumbnail`]) {
        const thumb = PNG.sync.read((await sys.http().get(url).set(bearer(annotator.token)).buffer(true).parse(binary).expect(200)).body as Buffer);
        expect(Math.max(thumb.width, thumb.height)).toBe(128);
      }
      await sys.http().get(`${seriesUrl}/thumbnail`).set(bearer(outsider.token)).expect(403);
      expect((await sys.http().get(`${base}/frames/1`).set(bearer(annotator.token)).set('accept', 'multipart/related; type="image/jls"').expect(406)).body.message).toMatch(/uncompressed/);
      await sys.http().get(`${base}/rendered`).set(bearer(outsider.token)).expect(403);
      const audit = (await sys.http().get(`/api/projects/${projectId}/audit?action=instance.read&limit=1000`).set(bearer(manager.token))).body as { actorName: string; details: { via: string } }[];
      const vias = new Set(audit.filter((a) => a.actorName === 'ann').map((a) => a.details.via));
      expect([...vias]).toEqual(expect.arrayContaining(['wado-rs-frames', 'wado-rs-rendered', 'wado-rs-thumbnail']));
    });

    const instanceUrl = async (where: string, params: unknown[]) => {
      const [row] = await sys.db.dataSource.query(
        `SELECT i.sop_instance_uid, se.series_instance_uid, st.study_instance_uid FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id WHERE i.project_id = $1 AND ${where}`,
        [projectId, ...params],
      );
      return `/dicom-web/projects/${projectId}/studies/${row.study_instance_uid}/series/${row.series_instance_uid}/instances/${row.sop_instance_uid}`;
    };

    it('a YBR_FULL_422 JPEG baseline instance is described as it is served: RGB, interleaved, in its metadata, its frames and when transcoded (pydicom); the metadata said YBR_FULL_422', async () => {
      const source = dataPath('dicom/modalities/us-color-30frames-jpeg.dcm');
      const up = await sys.http().post(`/api/projects/${projectId}/uploads`).set(bearer(manager.token)).attach('files', source).expect(202);
      const b = await batchDone(up.body.batchId);
      expect(b.counts).toMatchObject({ stored: 1 });
      const base = await instanceUrl('i.id = $2', [b.items[0].instanceId]);
      const meta = JSON.parse((await sys.http().get(`${base}/metadata`).set(bearer(annotator.token)).expect(200)).text)[0];
      expect(meta['00280004']).toEqual({ vr: 'CS', Value: ['RGB'] });
      expect(meta['00280006']).toEqual({ vr: 'US', Value: [0] });
      expect(meta['00280002']).toEqual({ vr: 'US', Value: [3] });
      const dir = mkdtempSync(join(tmpdir(), 'ybr-'));
      const framesRes = await sys.http().get(`${base}/frames/1`).set(bearer(annotator.token)).buffer(true).parse(binary).expect(200);
      const [frame] = await spoolMultipart(Readable.from([framesRes.body as Buffer]), parseContentType(framesRes.headers['content-type']).params.boundary, dir);
      const whole = await sys.http().get(base).set(bearer(annotator.token)).set('accept', `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1`).buffer(true).parse(binary).expect(200);
      const [transcoded] = await spoolMultipart(Readable.from([whole.body as Buffer]), parseContentType(whole.headers['content-type']).params.boundary, dir);
      // pydicom decodes the stored JPEG as the YCbCr it holds; converted to RGB, it is what Contour serves.
      const script = join(dir, 'check.py');
      writeFileSync(script, [
        'import sys, json, pydicom, numpy as np',
        'from pydicom.pixel_data_handlers.util import convert_color_space',
        'src = pydicom.dcmread(sys.argv[1]); ybr = src.pixel_array[0]; rgb = convert_color_space(ybr, "YBR_FULL", "RGB")',
        'frame = np.frombuffer(open(sys.argv[2], "rb").read(), dtype=np.uint8).reshape(rgb.shape)',
        't = pydicom.dcmread(sys.argv[3])',
        'print(json.dumps({"frameVsRgb": float(np.abs(frame.astype(int) - rgb.astype(int)).mean()), "frameVsYbr": float(np.abs(frame.astype(int) - ybr.astype(int)).mean()),',
        '  "transcoded": [t.PhotometricInterpretation, int(t.PlanarConfiguration)], "transcodedFrameEqual": bool(np.array_equal(t.pixel_array[0], frame))}))',
      ].join('\n'));
      const ref = JSON.parse((await run('/usr/bin/python3', [script, source, frame.path, transcoded.path], { maxBuffer: 1 << 26 })).stdout);
      expect(ref.frameVsRgb).toBeLessThan(1);
      expect(ref.frameVsYbr).toBeGreaterThan(20);
      expect(ref.transcoded).toEqual(['RGB', 0]);
      expect(ref.transcodedFrameEqual).toBe(true);
    });

    it('serves large binary values as a BulkDataURI whose bulkdata resource answers the bytes (multipart/related octet-stream), audited and role-checked; they were dropped', async () => {
      // The ECG stored over C-STORE above: Waveform Data (5400,1010) of 240000 and 28800 bytes, in sequence items.
      const base = await instanceUrl('i.sop_class_uid = $2', ['1.2.840.10008.5.1.4.1.1.9.1.1']);
      const meta = JSON.parse((await sys.http().get(`${base}/metadata`).set(bearer(annotator.token)).expect(200)).text)[0];
      const waveforms = meta['54000100'].Value as Record<string, { vr: string; BulkDataURI?: string; InlineBinary?: string }>[];
      expect(waveforms).toHaveLength(2);
      const dir = mkdtempSync(join(tmpdir(), 'bulk-'));
      const script = join(dir, 'waveform.py');
      writeFileSync(script, ['import sys, hashlib, pydicom', 'ds = pydicom.dcmread(sys.argv[1])', 'print(",".join(hashlib.sha256(w.WaveformData).hexdigest() for w in ds.WaveformSequence))'].join('\n'));
      const expected = (await run('/usr/bin/python3', [script, dataPath('dicom/modalities/ecg-waveform.dcm')])).stdout.trim().split(',');
      for (const [i, item] of waveforms.entries()) {
        const el = item['54001010'];
        expect(el.InlineBinary).toBeUndefined();
        // Absolute, on the address the caller used (it was a path when PUBLIC_URL was not set).
        expect(el.BulkDataURI).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+${base}/bulkdata/`));
        const res = await sys.http().get(pathOf(el.BulkDataURI!)).set(bearer(annotator.token)).set('accept', 'multipart/related; type="application/octet-stream"').buffer(true).parse(binary).expect(200);
        const ct = parseContentType(res.headers['content-type']);
        expect(ct).toMatchObject({ mediaType: 'multipart/related', params: { type: 'application/octet-stream' } });
        const [part] = await spoolMultipart(Readable.from([res.body as Buffer]), ct.params.boundary, dir);
        expect(part.headers['content-type']).toMatch(/^application\/octet-stream/);
        expect(createHash('sha256').update(readFileSync(part.path)).digest('hex')).toBe(expected[i]);
      }
      const uri = pathOf(waveforms[0]['54001010'].BulkDataURI!);
      await sys.http().get(uri).set(bearer(outsider.token)).expect(403);
      await sys.http().get(uri).expect(401);
      expect((await sys.http().get(uri).set(bearer(annotator.token)).set('accept', 'application/dicom+json').expect(406)).body.message).toMatch(/application\/octet-stream/);
      expect((await sys.http().get(`${base}/bulkdata/00100010`).set(bearer(annotator.token)).expect(404)).body.message).toMatch(/no bulk data at 00100010/);
      expect((await sys.http().get(`${base}/bulkdata/54000100.7.54001010`).set(bearer(annotator.token)).expect(404)).body.message).toMatch(/no bulk data/);
      expect((await sys.http().get(`${base}/bulkdata/nonsense`).set(bearer(annotator.token)).expect(400)).body.message).toMatch(/bulk data path/);
      const audit = (await sys.http().get(`/api/projects/${projectId}/audit?action=instance.read&limit=1000`).set(bearer(manager.token))).body as { actorName: string; objectId: string; details: { via: string } }[];
      const [ecg] = await sys.db.dataSource.query(`SELECT id FROM instances WHERE project_id = $1 AND sop_class_uid = $2`, [projectId, '1.2.840.10008.5.1.4.1.1.9.1.1']);
      expect(audit.filter((a) => a.actorName === 'ann' && a.details.via === 'wado-rs-bulkdata' && a.objectId === ecg.id)).toHaveLength(2);
    });

    it('refuses callers outside the project', async () => {
      await sys.http().get(`/dicom-web/projects/${projectId}/studies`).set(bearer(outsider.token)).expect(403);
      await sys.http().get(`/dicom-web/projects/${projectId}/studies`).expect(401);
    });
  });

  describe('pull from a PACS (real Orthanc, QIDO-RS + WADO-RS)', () => {
    let orthanc: Orthanc;
    beforeAll(async () => {
      orthanc = await startOrthanc();
    });
    afterAll(() => orthanc?.stop());

    it('imports the studies matching a query, and only those', async () => {
      await orthanc.upload(readFileSync(dataPath('dicom/modalities/ct-693-explicit-le.dcm')));
      await orthanc.upload(readFileSync(dataPath('dicom/modalities/nm-jpeg-lossless.dcm')));
      const src = await sys.http().post(`/api/projects/${projectId}/sources`).set(bearer(manager.token)).send({ name: 'orthanc', url: orthanc.dicomWebUrl }).expect(201);
      const found = await sys.http().get(`/api/projects/${projectId}/sources/${src.body.id}/studies?ModalitiesInStudy=CT`).set(bearer(manager.token)).expect(200);
      expect(found.body).toHaveLength(1);
      const before = await instanceCount();
      const imp = await sys.http().post(`/api/projects/${projectId}/sources/${src.body.id}/imports`).set(bearer(manager.token)).send({ query: { ModalitiesInStudy: 'CT' } }).expect(202);
      const b = await batchDone(imp.body.batchId);
      expect(b.counts.stored).toBe(1);
      expect(await instanceCount()).toBe(before + 1);
      const batches = (await sys.http().get(`/api/projects/${projectId}/uploads`).set(bearer(manager.token))).body;
      expect(batches[0]).toMatchObject({ source: 'dicomweb-pull' });
    });

    it('a search for all studies pages through the PACS (one page of a capped answer left studies out of an import)', async () => {
      await orthanc.upload(readFileSync(dataPath('dicom/modalities/mr-small.dcm')));
      const client = new DicomWebClient(orthanc.dicomWebUrl);
      const everything = (await client.searchStudies({})).map((s) => s['0020000D'].Value![0]).sort();
      expect(everything.length).toBeGreaterThanOrEqual(3);
      expect(await client.searchStudies({ limit: '1' })).toHaveLength(1);
      for (const pageSize of [1, 2, 500]) expect((await client.searchAllStudies({}, pageSize)).map((s) => s['0020000D'].Value![0]).sort()).toEqual(everything);
      await expect(client.searchAllStudies({}, 1, 2)).rejects.toThrow(/more than 2 studies/);
    });

    it('a study the PACS cannot return does not stop the others: they are imported, the batch names it (one 404 failed the whole import)', async () => {
      const client = new DicomWebClient(orthanc.dicomWebUrl);
      const known = (await client.searchStudies({})).map((st) => st['0020000D'].Value![0] as string).sort();
      const src = await sys.http().post(`/api/projects/${projectId}/sources`).set(bearer(manager.token)).send({ name: 'orthanc partial', url: orthanc.dicomWebUrl }).expect(201);
      const missing = '1.2.826.0.1.3680043.2.1125.999999';
      const imp = await sys.http().post(`/api/projects/${projectId}/sources/${src.body.id}/imports`).set(bearer(manager.token)).send({ studyInstanceUids: [known[0], missing, known[1]] }).expect(202);
      const b = await eventually(async () => {
        const batch = (await sys.http().get(`/api/projects/${projectId}/uploads/${imp.body.batchId}?items=true`).set(bearer(manager.token))).body;
        return batch.importState === 'failed' && batch.done ? batch : null;
      }, 60_000);
      expect(b.error).toMatch(/1 of 3 studies could not be retrieved from orthanc partial \(study 2: The PACS answered 404 .*\(study 2\)\); the other 2 were imported/);
      expect(b.error).not.toContain(missing);
      // The first and third studies' files arrived (stored now, or duplicates of the earlier imports).
      const names = (b.items as { fileName: string; status: string }[]).map((i) => i.fileName.replace(/-\d+\.dcm$/, '')).sort();
      expect(new Set(names)).toEqual(new Set(['study-1', 'study-3']));
      expect((b.items as { status: string }[]).every((i) => ['stored', 'duplicate'].includes(i.status))).toBe(true);
    });

    it("a search through a source keeps the query's wildcards and name separators as they are (Orthanc does not decode %3F or %5E: they never matched)", async () => {
      const client = new DicomWebClient(orthanc.dicomWebUrl);
      const withName = (await client.searchStudies({ includefield: '00100010' })).find((st) => String((st['00100010']?.Value?.[0] as { Alphabetic?: string } | undefined)?.Alphabetic ?? '').includes('^'));
      expect(withName).toBeDefined();
      const name = (withName!['00100010'].Value![0] as { Alphabetic: string }).Alphabetic;
      const id = withName!['00100020'].Value![0] as string;
      const src = await sys.http().post(`/api/projects/${projectId}/sources`).set(bearer(manager.token)).send({ name: 'orthanc query', url: orthanc.dicomWebUrl }).expect(201);
      const search = async (query: Record<string, string>) =>
        ((await sys.http().get(`/api/projects/${projectId}/sources/${src.body.id}/studies`).query(query).set(bearer(manager.token)).expect(200)).body as { studyInstanceUid: string }[]).map((x) => x.studyInstanceUid);
      const uid = withName!['0020000D'].Value![0] as string;
      expect(await search({ PatientName: name })).toContain(uid);
      expect(await search({ PatientID: `${id.slice(0, -1)}?` })).toContain(uid);
    });

    it('reports an unreachable PACS with a clear 502', async () => {
      const src = await sys.http().post(`/api/projects/${projectId}/sources`).set(bearer(manager.token)).send({ name: 'gone', url: 'http://127.0.0.1:9/dicom-web' }).expect(201);
      const res = await sys.http().get(`/api/projects/${projectId}/sources/${src.body.id}/studies`).set(bearer(manager.token)).expect(502);
      expect(res.body.message).toMatch(/Cannot reach the PACS/);
      // An import from it fails: the batch says so, and why (it read "done, 0 files" with no error before).
      const imp = await sys.http().post(`/api/projects/${projectId}/sources/${src.body.id}/imports`).set(bearer(manager.token)).send({ studyInstanceUids: ['1.2.826.0.1.3680043.2.1125.1'] }).expect(202);
      const b = await eventually(async () => {
        const batch = (await sys.http().get(`/api/projects/${projectId}/uploads/${imp.body.batchId}`).set(bearer(manager.token))).body;
        return batch.importState === 'failed' ? batch : null;
      }, 30_000);
      expect(b).toMatchObject({ done: true, total: 0, error: expect.stringMatching(/\S/) });
    });
  });
});
void writeFileSync;
