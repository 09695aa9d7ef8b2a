import { NotAcceptableException } from '@nestjs/common';
import { acceptedBulkDataMediaType, acceptedDicomJson, mayServeAsStored, acceptedFrameMediaType, acceptedRenderedMediaType, acceptedTransferSyntaxes, acceptRanges, chooseTransferSyntax } from './accept';

const ELE = '1.2.840.10008.1.2.1';
const JPEG = '1.2.840.10008.1.2.4.50';
const dicom = (ts?: string, q?: number) => `multipart/related; type="application/dicom"${ts ? `; transfer-syntax=${ts}` : ''}${q !== undefined ? `;q=${q}` : ''}`;

describe('acceptRanges', () => {
  it.each<[string, string | undefined, string[]]>([
    ['none', undefined, []],
    ['one', 'image/png', ['image/png']],
    ['in the order given at equal q', 'image/png, image/jpeg', ['image/png', 'image/jpeg']],
    ['by q first', 'image/png;q=0.5, image/jpeg', ['image/jpeg', 'image/png']],
    ['q=0 refuses', 'image/png;q=0, image/jpeg;q=0.1', ['image/jpeg']],
    ['a comma inside quotes does not split', 'multipart/related; type="application/dicom, x", image/png', ['multipart/related', 'image/png']],
  ])('%s', (_name, accept, expected) => {
    expect(acceptRanges(accept).map((r) => r.mediaType)).toEqual(expected);
  });
});

describe('acceptedTransferSyntaxes and chooseTransferSyntax', () => {
  it.each<[string, string | undefined, string[], string]>([
    ['no Accept: Explicit VR Little Endian', undefined, [JPEG], ELE],
    ['*/*: Explicit VR Little Endian', '*/*', [JPEG], ELE],
    ['a range without a syntax: Explicit VR Little Endian', dicom(), [JPEG], ELE],
    ['as stored', dicom('*'), [JPEG], '*'],
    ['a syntax every instance is stored in', dicom(JPEG), [JPEG, JPEG], JPEG],
    ['a later range when the first cannot be given (it was 406)', `${dicom(JPEG)}, ${dicom('*')}`, [ELE], '*'],
    ['by q: the preferred one that can be given', `${dicom(JPEG, 0.5)}, ${dicom(ELE, 0.9)}`, [JPEG], ELE],
    ['by q: the preferred one when both can be given', `${dicom(ELE, 0.4)}, ${dicom(JPEG, 0.9)}`, [JPEG], JPEG],
    ['application/dicom on its own', `application/dicom; transfer-syntax=*`, [JPEG], '*'],
  ])('%s', (_name, accept, stored, expected) => {
    expect(chooseTransferSyntax(acceptedTransferSyntaxes(accept), stored)).toBe(expected);
  });

  it.each<[string, string, string[], RegExp]>([
    ['a syntax not every instance is stored in', dicom(JPEG), [JPEG, ELE], /1\.2\.840\.10008\.1\.2\.4\.50 is not available for every instance/],
    ['only other media types', 'image/png, application/json', [ELE], /multipart\/related; type="application\/dicom"/],
    ['the only dicom range refused with q=0', `${dicom('*', 0)}, image/png`, [ELE], /multipart\/related; type="application\/dicom"/],
  ])('refused: %s', (_name, accept, stored, message) => {
    expect(() => chooseTransferSyntax(acceptedTransferSyntaxes(accept), stored)).toThrow(NotAcceptableException);
    expect(() => chooseTransferSyntax(acceptedTransferSyntaxes(accept), stored)).toThrow(message);
  });
});

describe('acceptedFrameMediaType and acceptedBulkDataMediaType', () => {
  it.each<[string, string | undefined, boolean]>([
    ['none', undefined, true],
    ['octet-stream', 'multipart/related; type="application/octet-stream"', true],
    ['a compressed type first, octet-stream after', 'multipart/related; type="image/jls", multipart/related; type="application/octet-stream"', true],
    ['only a compressed type', 'multipart/related; type="image/jls"', false],
    ['octet-stream refused with q=0', 'multipart/related; type="application/octet-stream";q=0', false],
  ])('frames: %s', (_name, accept, ok) => {
    if (ok) expect(() => acceptedFrameMediaType(accept)).not.toThrow();
    else expect(() => acceptedFrameMediaType(accept)).toThrow(NotAcceptableException);
  });

  it.each<[string, string | undefined, boolean]>([
    ['none', undefined, true],
    ['octet-stream after another', 'application/json, multipart/related; type="application/octet-stream"', true],
    ['only another', 'application/json', false],
  ])('bulk data: %s', (_name, accept, ok) => {
    if (ok) expect(() => acceptedBulkDataMediaType(accept)).not.toThrow();
    else expect(() => acceptedBulkDataMediaType(accept)).toThrow(NotAcceptableException);
  });
});

describe('acceptedRenderedMediaType', () => {
  it.each<[string, string | undefined, string | null]>([
    ['none: PNG', undefined, 'image/png'],
    ['JPEG', 'image/jpeg', 'image/jpeg'],
    ['PNG', 'image/png', 'image/png'],
    ['a browser image request: PNG', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', 'image/png'],
    ['JPEG preferred by q', 'image/png;q=0.5, image/jpeg', 'image/jpeg'],
    ['GIF then JPEG', 'image/gif, image/jpeg', 'image/jpeg'],
    ['GIF only', 'image/gif', null],
  ])('%s', (_name, accept, expected) => {
    if (expected) expect(acceptedRenderedMediaType(accept)).toBe(expected);
    else expect(() => acceptedRenderedMediaType(accept)).toThrow(/image\/png or image\/jpeg/);
  });
});

describe('acceptedDicomJson', () => {
  it.each<[string, string | undefined, boolean]>([
    ['none', undefined, true],
    ['DICOM JSON', 'application/dicom+json', true],
    ['JSON', 'application/json', true],
    ['anything', '*/*', true],
    ['XML then JSON', 'multipart/related; type="application/dicom+xml", application/dicom+json', true],
    ['XML only (it answered JSON anyway)', 'multipart/related; type="application/dicom+xml"', false],
    ['HTML only', 'text/html', false],
  ])('%s', (_name, accept, ok) => {
    if (ok) expect(() => acceptedDicomJson(accept)).not.toThrow();
    else expect(() => acceptedDicomJson(accept)).toThrow(/application\/dicom\+json/);
  });
});

describe('mayServeAsStored (an instance that cannot be converted)', () => {
  it.each<[string, string | undefined, boolean]>([
    ['no Accept', undefined, true],
    ['a range without a syntax', dicom(), true],
    ['as stored accepted too', `${dicom(ELE)}, ${dicom('*', 0.5)}`, true],
    ['its stored syntax accepted too', `${dicom(ELE)}, ${dicom(JPEG, 0.5)}`, true],
    ['Explicit VR Little Endian named alone', dicom(ELE), false],
  ])('%s', (_name, accept, expected) => {
    expect(mayServeAsStored(accept, JPEG)).toBe(expected);
  });
});
