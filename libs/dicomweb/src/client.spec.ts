// An import by query pages through the PACS's answers until one is empty: a PACS that answers fewer studies than
// asked (one capping each answer at 3 here, as a proxy or a server setting may) made the search stop after its
// first answer, and the import completed with the rest left out. A real HTTP server stands in for the PACS.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DicomWebClient, dicomWebRootProblem, qidoQueryString } from './client';

const STUDIES = Array.from({ length: 10 }, (_, i) => `1.2.826.0.1.${i + 1}`);

describe('searchAllStudies pages until an empty answer', () => {
  let server: Server;
  let base: string;
  const asked: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      asked.push(url.search);
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), 3);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const page = STUDIES.slice(offset, offset + limit).map((uid) => ({ '0020000D': { vr: 'UI', Value: [uid] } }));
      res.writeHead(page.length ? 200 : 204, { 'content-type': 'application/dicom+json' }).end(page.length ? JSON.stringify(page) : undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each([[500], [4], [3], [2]])('page size %d: all 10 studies of a PACS that answers at most 3 at a time', async (pageSize) => {
    asked.length = 0;
    const found = await new DicomWebClient(base, { type: 'none' }).searchAllStudies({ PatientID: 'BULK*' }, pageSize);
    expect(found.map((s) => s['0020000D'].Value![0])).toEqual(STUDIES);
    expect(asked.at(-1)).toMatch(/offset=10/);
  });
});

describe('a DICOMweb root URL is the root only', () => {
  it.each<[string, RegExp | undefined]>([
    ['http://pacs:8042/dicom-web', undefined],
    ['https://pacs.example.org/dicom-web/', undefined],
    ['http://127.0.0.1:8143/patients#', /fragment/],
    ['http://127.0.0.1:3103/api/users?x=', /query/],
    ['http://pacs/dicom-web?', /query/],
    ['http://user:pw@127.0.0.1:8143/dicom-web', /user name or password.*auth/],
    ['http://user@pacs/dicom-web', /user name or password/],
    ['not a url', /not a URL/],
  ])('%s', (url, problem) => {
    const found = dicomWebRootProblem(url);
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
  });
});

describe('a server that is not a DICOMweb root says so', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url!.startsWith('/html/')) res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome</body></html>');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"patients": 152}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each([
    ['/html', /answered a study search with text\/html, not DICOM JSON: is this the DICOMweb root/],
    ['/object', /JSON that is not a list of studies/],
  ])('%s', async (root, message) => {
    await expect(new DicomWebClient(`${base}${root}`, { type: 'none' }).searchStudies()).rejects.toThrow(message);
  });
});

describe('QIDO-RS query strings', () => {
  it.each<[Record<string, string>, string]>([
    [{ PatientID: '1CT?' }, 'PatientID=1CT?'],
    [{ PatientName: 'Doe^John*' }, 'PatientName=Doe^John*'],
    [{ StudyDescription: 'CT HEAD' }, 'StudyDescription=CT%20HEAD'],
    [{ ModalitiesInStudy: 'CT,MR', limit: '500', offset: '0' }, 'ModalitiesInStudy=CT,MR&limit=500&offset=0'],
    [{ PatientID: 'a&b=c#d' }, 'PatientID=a%26b%3Dc%23d'],
    [{ '00100020': 'Ünal' }, '00100020=%C3%9Cnal'],
  ])('%j -> %s', (query, expected) => {
    expect(qidoQueryString(query)).toBe(expected);
  });
});
