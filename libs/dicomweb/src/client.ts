// A small DICOMweb client (QIDO-RS search, WADO-RS retrieve) over fetch, for importing from a PACS.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AddressNotAllowedError, assertPacsAddress, PacsAddressPolicy } from './address-policy';
import { parseContentType, spoolMultipart, SpooledPart } from './multipart';

export type DicomWebAuth = { type: 'none' } | { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

export class DicomWebError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DicomWebError';
  }
}

/**
 * A QIDO-RS query string: values percent-encoded (a space as %20, not URLSearchParams' "+"), except the characters
 * matching uses that a query may carry as they are (RFC 3986 allows "?" in a query; "^" separates name components,
 * "*" and "?" are wildcards, "," and "\\" separate values). Orthanc 1.10 does not decode %3F or %5E, so `PatientID=1CT?`
 * and any PatientName with "^" found nothing through Contour while they matched when sent to Orthanc directly.
 */
export function qidoQueryString(query: Record<string, string>): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/%3F/gi, '?').replace(/%5E/gi, '^').replace(/%2C/gi, ',');
  return Object.entries(query)
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');
}

/** One attribute of a DICOM JSON object (PS3.18 F.2). */
export type DicomJsonAttribute = { vr: string; Value?: unknown[] };
export type DicomJson = Record<string, DicomJsonAttribute>;

export const jsonValue = (obj: DicomJson, tag: string): unknown => obj[tag]?.Value?.[0];
export const jsonString = (obj: DicomJson, tag: string): string | undefined => {
  const v = jsonValue(obj, tag);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && v && 'Alphabetic' in v) return String((v as { Alphabetic: string }).Alphabetic);
  return String(v);
};

export class DicomWebClient {
  /** `policy`: which addresses the source may be at (address-policy.ts), checked before every request. */
  constructor(
    private readonly root: string,
    private readonly auth: DicomWebAuth = { type: 'none' },
    private readonly policy: PacsAddressPolicy = { allowedHosts: null },
    private readonly timeoutMs = 60_000,
  ) {}

  private headers(accept: string): Record<string, string> {
    const h: Record<string, string> = { accept };
    if (this.auth.type === 'basic') h.authorization = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`;
    if (this.auth.type === 'bearer') h.authorization = `Bearer ${this.auth.token}`;
    return h;
  }

  private async get(path: string, accept: string, timeoutMs = this.timeoutMs): Promise<Response> {
    const url = `${this.root}${path}`;
    try {
      await assertPacsAddress(url, this.policy);
    } catch (e) {
      if (e instanceof AddressNotAllowedError) throw new DicomWebError(e.message);
      throw e;
    }
    let res: Response;
    try {
      // Redirects are not followed: the address they lead to has not been checked.
      res = await fetch(url, { headers: this.headers(accept), signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    } catch (e) {
      throw new DicomWebError(`Cannot reach the PACS at ${this.root}: ${(e as Error).message}`);
    }
    if (res.status >= 300 && res.status < 400) {
      throw new DicomWebError(`The PACS answered ${res.status} with a redirect to ${res.headers.get('location') ?? 'nowhere'} for ${url}: give the source the address it redirects to`, res.status);
    }
    if (res.status === 401 || res.status === 403) throw new DicomWebError(`The PACS refused the credentials (${res.status}) for ${url}: check the source's authentication`, res.status);
    if (!res.ok) throw new DicomWebError(`The PACS answered ${res.status} ${res.statusText} for ${url}`, res.status);
    return res;
  }

  /** QIDO-RS study search; `query` holds DICOM keywords or tags as in PS3.18 (e.g. PatientID, StudyDate=20200101-). */
  async searchStudies(query: Record<string, string> = {}): Promise<DicomJson[]> {
    const qs = qidoQueryString(query);
    const res = await this.get(`/studies${qs ? `?${qs}` : ''}`, 'application/dicom+json');
    if (res.status === 204) return [];
    const text = await res.text();
    if (!text) return [];
    // A web server that is not a DICOMweb root (an HTML page, another API's JSON) answered with a parse error or a 500.
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new DicomWebError(`The server at ${this.root} answered a study search with ${res.headers.get('content-type') ?? 'no content type'}, not DICOM JSON: is this the DICOMweb root (e.g. http://pacs:8042/dicom-web)?`);
    }
    if (!Array.isArray(parsed)) throw new DicomWebError(`The server at ${this.root} answered a study search with JSON that is not a list of studies: is this the DICOMweb root (e.g. http://pacs:8042/dicom-web)?`);
    return parsed as DicomJson[];
  }

  /**
   * Every study matching `query`, page by page (`limit`/`offset`, PS3.18 8.3.4.4): PACS cap one answer (Orthanc
   * and Contour at a few hundred or thousand results), so a single search can silently leave studies out. Stops at an
   * empty page, or at a page that adds nothing new (a server ignoring `offset`); refuses beyond `max` studies.
   */
  async searchAllStudies(query: Record<string, string> = {}, pageSize = 500, max = 100_000): Promise<DicomJson[]> {
    const all: DicomJson[] = [];
    const seen = new Set<string>();
    // The next page starts after what this one held, and only an empty page (or one with nothing new) ends the search:
    // a PACS may answer fewer than asked (one capping each answer at 100 made the import stop after the first 100,
    // "completed", the rest left out).
    for (let offset = 0; ; ) {
      const page = await this.searchStudies({ ...query, limit: String(pageSize), offset: String(offset) });
      offset += page.length;
      const fresh = page.filter((s) => {
        const uid = (s['0020000D']?.Value?.[0] as string | undefined) ?? JSON.stringify(s);
        if (seen.has(uid)) return false;
        seen.add(uid);
        return true;
      });
      all.push(...fresh);
      if (all.length > max) throw new DicomWebError(`The query matches more than ${max} studies at the PACS: narrow it (a date range, a modality)`);
      if (!page.length || !fresh.length) return all;
    }
  }

  /** WADO-RS retrieval of a whole study, spooled part by part to files under `dir`. */
  async retrieveStudy(studyInstanceUid: string, dir: string): Promise<SpooledPart[]> {
    // Whole studies can take long; the timeout is per request, generous on purpose.
    const res = await this.get(`/studies/${encodeURIComponent(studyInstanceUid)}`, 'multipart/related; type="application/dicom"; transfer-syntax=*', 30 * 60_000);
    const ct = parseContentType(res.headers.get('content-type') ?? undefined);
    if (ct.mediaType !== 'multipart/related' || !ct.params.boundary) {
      throw new DicomWebError(`The PACS answered ${res.headers.get('content-type')} to a WADO-RS study retrieve; expected multipart/related`);
    }
    if (!res.body) return [];
    return spoolMultipart(Readable.fromWeb(res.body as unknown as WebReadableStream), ct.params.boundary, dir);
  }
}

/**
 * What is wrong with a DICOMweb root URL a project names, if anything: Contour appends paths (/studies...) to it, so a
 * query or fragment would swallow them (`http://pacs/patients#` made the search read another resource), and
 * credentials belong in the source's auth (a URL with a user and password was stored, listed and audited in clear,
 * and fetch refuses it anyway).
 */
export function dicomWebRootProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.username || u.password) return 'a user name or password in the URL: give them as auth ({"type": "basic", "username": ..., "password": ...})';
  if (u.search || url.includes('?')) return 'a query (?...) in the URL: give the DICOMweb root only, e.g. http://pacs:8042/dicom-web';
  if (u.hash || url.includes('#')) return 'a fragment (#...) in the URL: give the DICOMweb root only, e.g. http://pacs:8042/dicom-web';
  return undefined;
}
