// Transcoding between transfer syntaxes with dcmjs-codecs (WebAssembly builds of the reference codecs), for
// DICOMweb clients that ask for uncompressed data.
import { NativeCodecs, Transcoder } from 'dcmjs-codecs';
import { toArrayBuffer } from './parse';

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
let ready: Promise<void> | null = null;

/** Loads the codec WebAssembly once per process. */
export function initCodecs(): Promise<void> {
  ready ??= NativeCodecs.initializeAsync();
  return ready;
}

export async function transcode(file: Buffer, transferSyntaxUid: string): Promise<Buffer> {
  await initCodecs();
  const transcoder = new Transcoder(toArrayBuffer(file));
  transcoder.transcode(transferSyntaxUid);
  return Buffer.from(transcoder.getDicomPart10());
}
