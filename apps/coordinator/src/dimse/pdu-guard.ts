// Watches the PDUs arriving on a DICOM connection (PS3.8 9.3: a 6-byte header, type and 32-bit length, then the body)
// and says when one cannot be honest, before dcmjs-dimse has gathered it: dcmjs-dimse accumulates a PDU until its
// announced length has arrived, re-copying what it holds on every chunk, so a header announcing 4 GB followed by a
// stream of zeros (no association, no AE title needed) took the coordinator from 213 MB to 5.3 GB and slowed every
// request. An association request or any other control PDU is a few KB; a P-DATA-TF PDU is bounded by the maximum
// length the receiver announced (dcmjs-dimse's, well under the limit here).

/** Largest body of an A-ASSOCIATE-RQ, A-ASSOCIATE-AC/RJ, A-RELEASE or A-ABORT PDU Contour accepts. */
export const MAX_CONTROL_PDU_BYTES = 64 * 1024;
/** Largest body of a P-DATA-TF PDU Contour accepts. */
export const MAX_DATA_PDU_BYTES = 16 * 1024 * 1024;

export class PduGuard {
  private header = Buffer.alloc(0);
  private remaining = 0;

  /** Feeds a received chunk; answers why the connection must be dropped, or undefined while the stream is sound. */
  feed(chunk: Buffer): string | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        at += take;
        continue;
      }
      const take = Math.min(6 - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + take)]);
      at += take;
      if (this.header.length < 6) break;
      const type = this.header[0];
      const length = this.header.readUInt32BE(2);
      this.header = Buffer.alloc(0);
      if (type < 1 || type > 7) return `not a DICOM PDU (type 0x${type.toString(16).padStart(2, '0')})`;
      const max = type === 4 ? MAX_DATA_PDU_BYTES : MAX_CONTROL_PDU_BYTES;
      if (length > max) return `a PDU of type ${type} announcing ${length} bytes (at most ${max})`;
      this.remaining = length;
    }
    return undefined;
  }
}
