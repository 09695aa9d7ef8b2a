import { MAX_DATA_PDU_BYTES, PduGuard } from './pdu-guard';

const pdu = (type: number, length: number, body = Buffer.alloc(Math.min(length, 64))) => {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(length, 2);
  return Buffer.concat([h, body]);
};

describe('PDU guard', () => {
  it.each<[string, Buffer[], RegExp | undefined]>([
    ['an association request of 300 bytes', [pdu(1, 300, Buffer.alloc(300))], undefined],
    ['a request announcing 4 GB (the memory attack)', [Buffer.from([0x01, 0x00, 0xff, 0xff, 0xff, 0xf0]), Buffer.alloc(1000)], /type 1 announcing 4294967280 bytes/],
    ['a P-DATA-TF PDU at the limit, split across chunks', [pdu(4, MAX_DATA_PDU_BYTES, Buffer.alloc(0)).subarray(0, 3), pdu(4, MAX_DATA_PDU_BYTES, Buffer.alloc(0)).subarray(3), Buffer.alloc(1024)], undefined],
    ['a P-DATA-TF PDU over the limit', [pdu(4, MAX_DATA_PDU_BYTES + 1, Buffer.alloc(0))], /type 4 announcing/],
    ['an HTTP request on the DICOM port', [Buffer.from('GET / HTTP/1.1\r\n\r\n')], /not a DICOM PDU \(type 0x47\)/],
    ['two PDUs in one chunk, the second too long', [Buffer.concat([pdu(5, 4, Buffer.alloc(4)), pdu(7, 70_000, Buffer.alloc(0))])], /type 7 announcing 70000/],
    ['release request and answer in turn', [pdu(5, 4, Buffer.alloc(4)), pdu(6, 4, Buffer.alloc(4))], undefined],
  ])('%s', (_name, chunks, problem) => {
    const guard = new PduGuard();
    const found = chunks.map((c) => guard.feed(c)).find((p) => p !== undefined);
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
  });
});
