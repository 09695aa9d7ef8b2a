import { Readable } from 'node:stream';
import { servedInstance } from './dicomweb.controller';

const ELE = '1.2.840.10008.1.2.1';
const JPEG = '1.2.840.10008.1.2.4.50';

describe('servedInstance (one part of a WADO-RS retrieve)', () => {
  const stored = Buffer.from('stored bytes');
  const blobs = { get: async () => Readable.from([stored]), getBuffer: async () => stored };
  const row = { blob_key: 'k', transfer_syntax_uid: JPEG, sop_instance_uid: '1.2.3' };
  const warnings: string[] = [];
  const logger = { warn: (m: string) => void warnings.push(m) };

  it.each<[string, string, string, (f: Buffer) => Promise<Buffer>, string, string]>([
    ['as stored when asked for as stored', '*', JPEG, async () => Buffer.from('converted'), JPEG, 'stored bytes'],
    ['as stored when stored in the syntax asked for', JPEG, JPEG, async () => Buffer.from('converted'), JPEG, 'stored bytes'],
    ['converted when it converts', ELE, JPEG, async () => Buffer.from('converted'), ELE, 'converted'],
    ['as stored, named so, when the conversion fails (the response used to end midway)', ELE, JPEG, async () => { throw new Error('cannot decode'); }, JPEG, 'stored bytes'],
  ])('%s', async (_name, wanted, storedTs, convert, partTs, body) => {
    const part = await servedInstance({ ...row, transfer_syntax_uid: storedTs }, wanted, blobs, convert, logger);
    expect(part.contentType).toBe(`application/dicom; transfer-syntax=${partTs}`);
    const bytes = Buffer.isBuffer(part.body) ? part.body : Buffer.concat(await part.body.toArray());
    expect(bytes.toString()).toBe(body);
  });

  it('a client that named the converted syntax alone gets a 406 naming the instance instead', async () => {
    await expect(servedInstance(row, ELE, blobs, async () => { throw new Error('cannot decode'); }, logger, false)).rejects.toThrow(/Instance 1\.2\.3 \(stored as 1\.2\.840\.10008\.1\.2\.4\.50\) cannot be converted to 1\.2\.840\.10008\.1\.2\.1: cannot decode\. Ask for it as stored/);
  });

  it('says in the log which instance was sent as stored, and why', () => {
    expect(warnings).toEqual([`instance 1.2.3 (stored as ${JPEG}) could not be converted to ${ELE}, sent as stored: cannot decode`]);
  });
});
