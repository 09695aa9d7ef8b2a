// What a DICOMweb client accepts (PS3.18 8.7.3 and RFC 9110 12.5.1): the media ranges of its Accept header, most
// preferred first (q, then the order given; q=0 means "not this"). Clients such as dicomweb-client send several
// ranges joined by commas; only the first was read, so an acceptable later range still got 406.
import { NotAcceptableException } from '@nestjs/common';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '@contour/dicom';
import { ContentType, parseContentType } from '@contour/dicomweb';

export interface MediaRange extends ContentType {
  q: number;
}

/** The ranges of an Accept header, most preferred first, without those refused (q=0); [] when there is none. */
export function acceptRanges(accept: string | undefined): MediaRange[] {
  if (!accept?.trim()) return [];
  const ranges = accept
    .split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)
    .filter((r) => r.trim())
    .map((r, i) => {
      const ct = parseContentType(r);
      const q = ct.params.q === undefined ? 1 : Number(ct.params.q);
      return { ...ct, q: Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 1, i };
    });
  return ranges
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map(({ i: _i, ...r }) => r);
}

const anyType = (t: string) => t === '*/*' || t === 'multipart/*';

/**
 * The transfer syntaxes acceptable for application/dicom parts, most preferred first: '*' (as stored) or a UID; a
 * range without one means Explicit VR Little Endian (PS3.18 8.7.3.5.2). No Accept header: Explicit VR Little Endian.
 * @throws NotAcceptableException when no range takes application/dicom parts.
 */
export function acceptedTransferSyntaxes(accept: string | undefined): string[] {
  const ranges = acceptRanges(accept);
  if (!ranges.length && !accept?.trim()) return [EXPLICIT_VR_LITTLE_ENDIAN];
  const out: string[] = [];
  for (const r of ranges) {
    const type = r.mediaType === 'multipart/related' ? (r.params.type ?? 'application/dicom') : r.mediaType;
    if (type !== 'application/dicom' && !anyType(type) && !anyType(r.mediaType)) continue;
    const ts = r.params['transfer-syntax'] ?? EXPLICIT_VR_LITTLE_ENDIAN;
    if (!out.includes(ts)) out.push(ts);
  }
  if (!out.length) throw new NotAcceptableException('WADO-RS retrieves instances as multipart/related; type="application/dicom"');
  return out;
}

/**
 * The transfer syntax to serve instances stored in `stored` syntaxes in: the first acceptable that Contour can give
 * every one of them: as stored ('*'), Explicit VR Little Endian (converted), or one they are all stored in.
 * @throws NotAcceptableException naming what can be served.
 */
export function chooseTransferSyntax(accepted: string[], stored: string[]): string {
  const chosen = accepted.find((ts) => ts === '*' || ts === EXPLICIT_VR_LITTLE_ENDIAN || stored.every((s) => s === ts));
  if (chosen) return chosen;
  throw new NotAcceptableException(
    `Contour serves instances as stored (transfer-syntax=*) or as Explicit VR Little Endian (${EXPLICIT_VR_LITTLE_ENDIAN}); ${accepted.join(', ')} ${accepted.length > 1 ? 'are' : 'is'} not available for every instance requested`,
  );
}

/** WADO-RS frames are served uncompressed (Explicit VR Little Endian pixel data): refuse other requests. */
export function acceptedFrameMediaType(accept: string | undefined): void {
  if (!accept?.trim()) return;
  for (const r of acceptRanges(accept)) {
    const type = r.mediaType === 'multipart/related' ? (r.params.type ?? 'application/octet-stream') : r.mediaType;
    const ts = r.params['transfer-syntax'];
    if ((type === 'application/octet-stream' || anyType(type)) && (!ts || ts === '*' || ts === EXPLICIT_VR_LITTLE_ENDIAN)) return;
  }
  throw new NotAcceptableException(`WADO-RS frames are served as multipart/related; type="application/octet-stream" (uncompressed, transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN})`);
}

/** Bulk data is served as multipart/related; type="application/octet-stream" (PS3.18 bulkdata resources). */
export function acceptedBulkDataMediaType(accept: string | undefined): void {
  if (!accept?.trim()) return;
  for (const r of acceptRanges(accept)) {
    const type = r.mediaType === 'multipart/related' ? (r.params.type ?? 'application/octet-stream') : r.mediaType;
    if (type === 'application/octet-stream' || anyType(type)) return;
  }
  throw new NotAcceptableException('Bulk data is served as multipart/related; type="application/octet-stream"');
}

export type RenderedType = 'image/png' | 'image/jpeg';

/**
 * The image type of a rendered resource: the most preferred of PNG and JPEG that the client takes. PNG (lossless)
 * when nothing is said or any image will do (a browser's <img> sends image/*); JPEG when asked for.
 * @throws NotAcceptableException when neither is acceptable.
 */
export function acceptedRenderedMediaType(accept: string | undefined): RenderedType {
  if (!accept?.trim()) return 'image/png';
  const ranges = acceptRanges(accept);
  for (const r of ranges) {
    if (r.mediaType === 'image/png' || r.mediaType === 'image/jpeg') return r.mediaType;
    if (r.mediaType === 'image/*' || r.mediaType === '*/*') return 'image/png';
  }
  throw new NotAcceptableException(`Rendered images are served as image/png or image/jpeg (asked for ${accept.split(',').map((r) => parseContentType(r).mediaType).join(', ')})`);
}

/** Metadata and search answers are DICOM JSON: an Accept that takes neither it nor any type is a 406 (XML is not served). */
export function acceptedDicomJson(accept: string | undefined): void {
  if (!accept?.trim()) return;
  for (const r of acceptRanges(accept)) {
    const type = r.mediaType === 'multipart/related' ? r.params.type : r.mediaType;
    if (type === 'application/dicom+json' || type === 'application/json' || type === 'application/*' || r.mediaType === '*/*') return;
  }
  throw new NotAcceptableException(`Metadata is served as application/dicom+json (asked for ${accept.split(',').map((r) => parseContentType(r).mediaType).join(', ')}; DICOM XML is not served)`);
}

/**
 * Whether an instance that cannot be converted may be sent as stored instead (its part naming its syntax): when the
 * client named no transfer syntax (the default is a preference, and a complete answer beats a cut one), or accepts
 * '*' or the syntax it is stored in. A client that named Explicit VR Little Endian alone gets a 406 instead.
 */
export function mayServeAsStored(accept: string | undefined, storedSyntax: string): boolean {
  const ranges = acceptRanges(accept);
  const named = ranges.map((r) => r.params['transfer-syntax']).filter((ts): ts is string => Boolean(ts));
  return named.length === 0 || named.includes('*') || named.includes(storedSyntax);
}
