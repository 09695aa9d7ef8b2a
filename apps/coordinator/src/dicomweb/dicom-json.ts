// WADO-RS metadata: a stored (de-identified) file's attributes as DICOM JSON (PS3.18 F.2), with the pixel data
// and other large binary values replaced by bulk data URIs.
import * as dcmjs from 'dcmjs';
import { toArrayBuffer } from '@contour/dicom';

type Element = { vr: string; Value?: unknown[]; InlineBinary?: string; BulkDataURI?: string };
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const INLINE_LIMIT = 4096;

function convert(dict: Record<string, Element>, bulkBase: string): Record<string, Element> {
  const out: Record<string, Element> = {};
  for (const tag of Object.keys(dict).sort()) {
    const el = dict[tag];
    if (tag === '7FE00010') {
      out[tag] = { vr: el.vr, BulkDataURI: bulkBase };
      continue;
    }
    if (BINARY_VRS.has(el.vr)) {
      const buffers = (el.Value ?? []) as ArrayBuffer[];
      const bytes = Buffer.concat(buffers.filter((b) => b instanceof ArrayBuffer).map((b) => Buffer.from(b)));
      out[tag] = bytes.length <= INLINE_LIMIT ? { vr: el.vr, InlineBinary: bytes.toString('base64') } : { vr: el.vr };
      continue;
    }
    if (el.vr === 'SQ') {
      out[tag] = { vr: 'SQ', Value: ((el.Value ?? []) as Record<string, Element>[]).map((item) => convert(item, bulkBase)) };
      continue;
    }
    out[tag] = el.Value === undefined || el.Value.length === 0 ? { vr: el.vr } : { vr: el.vr, Value: el.Value };
  }
  return out;
}

export function dicomJsonOf(file: Buffer, bulkBase: string): Record<string, Element> {
  const dict = dcmjs.data.DicomMessage.readFile(toArrayBuffer(file), { ignoreErrors: true, untilTag: null, includeUntilTagValue: false, noCopy: false, forceStoreRaw: false });
  return convert(dict.dict as Record<string, Element>, bulkBase);
}
