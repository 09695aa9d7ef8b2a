// The browser's client of the Contour API: the session (Bearer token in sessionStorage), typed calls, and
// errors that carry the server's message so the screen can show what went wrong and what to do.

export interface User {
  id: string;
  username: string;
  displayName?: string;
  roles: string[];
  skills?: string[];
}

export interface ProjectSummary {
  id: string;
  name: string;
  description: string;
  myRoles: string[] | null;
}

export interface ProtocolLabel {
  id: number;
  name: string;
  color: string;
  code?: { value: string; scheme: string; meaning: string };
  category?: { value: string; scheme: string; meaning: string };
}

export type AnnotationType =
  | { kind: 'segmentation-3d' | 'segmentation-2d' | 'bounding-box' | 'polygon' | 'point' }
  | { kind: 'classification'; question: string; choices: string[]; multiple?: boolean; required?: boolean };

export interface Protocol {
  version: number;
  labels: ProtocolLabel[];
  annotationTypes: AnnotationType[];
  instructions: string;
  appliesTo?: { modalities: string[]; bodyParts: string[] };
}

export interface SeriesGeometry {
  kind: 'volume' | 'single-image' | 'multi-frame-2d' | 'multi-frame-volume';
  dims: [number, number, number];
  spacing: [number, number, number];
  affineRas: number[][];
  affineLps: number[][];
  /** The image of each slice, in slice order (an image with several frames repeats). */
  order?: string[];
  /** For series of multi-frame images: the frame (1-based) of each slice in its image. */
  frames?: number[];
  slices?: { id: string; frame: number }[];
  /** The plane a 3D series was acquired in (absent for 2D images and uploaded NIfTI volumes). */
  plane?: 'axial' | 'coronal' | 'sagittal' | 'oblique';
  /** Images a manager excluded after a privacy review: their slices are blank in the volume. */
  excluded?: string[];
}

export interface TaskSeries {
  id: string;
  modality: string;
  description: string | null;
  /** What a view image shows, laterality and view position ("L-CC"), for view groups and image tasks; else null. */
  view?: string | null;
  geometry: SeriesGeometry | null;
}

export interface TaskRead {
  id: string;
  kind: 'annotation' | 'review' | 'adjudication';
  slot: number;
  state: string;
  round: number;
  mine: boolean;
  annotatorId?: string | null;
  leaseExpiresAt?: string | null;
  reworkComment: string | null;
  labelVersionId: string | null;
  draftVersionId: string | null;
}

export interface LabelVersionInfo {
  id: string;
  kind: 'draft' | 'read' | 'read-draft' | 'merged' | 'adjudicated' | 'review-edit';
  authorId: string | null;
  readId: string | null;
  round: number;
  /** The model that drafted it; a draft of several models lists them all in `models`. */
  model?: { name: string; version: string; models?: { name: string; version: string }[] } | null;
  answers: Record<string, unknown> | null;
  stats: Record<string, unknown> | null;
  hasMask: boolean;
  createdAt: string;
}

export interface Overlap {
  mean: number;
  min: number;
  max: number;
}

export interface ConsensusInfo {
  round: number;
  agreement: number;
  method: string;
  metrics: {
    readers?: string[];
    labels?: { label: number; present?: boolean; dice: Overlap; iou?: Overlap; hd95?: Overlap | null; vsMerged?: { dice: number }[] }[];
    answers?: Record<string, number>;
    shapes?: { agreement: number; labels: { label: number; agreement: number; counts: number[] }[]; merged: { readers: number; similarity: number }[] };
  };
  disagreement: {
    labels?: { label: number; voxels: number; slices: { z: number; voxels: number }[]; regions: { box: number[]; voxels: number }[] }[];
    /** Shapes some readers drew but not a majority. */
    shapes?: { readers: number; similarity: number; shape: import('./viewer/shapes').WebShape }[];
  } | null;
  mergedVersionId: string | null;
}

/** A study's de-identification report (libs/deid StudyDeidSummary): what happened to each attribute, and why. */
export interface DeidReport {
  instanceCount?: number;
  profile?: string;
  edition?: string;
  options?: Record<string, unknown>;
  rows?: { tag: string; keyword: string; action: string; count: number; instances: number; paths: string[]; reasons: string[] }[];
}

export interface TaskDetail {
  id: string;
  state: string;
  kind: 'series' | 'image' | 'frames' | 'view-group';
  modality: string;
  priority: number;
  readsRequired: number;
  reworkRound: number;
  agreement: number | null;
  instanceId: string | null;
  frameStart: number | null;
  frameEnd: number | null;
  /** 'instance': an image or frame-range task of a series that is not one volume, drawn on its own image alone. */
  imageSource: 'series' | 'instance';
  /** The grid the server checks this task's masks against (null for view groups and series not yet measured). */
  grid: { dims: [number, number, number]; z0: number } | null;
  series: TaskSeries[];
  protocol: Protocol | null;
  reads: TaskRead[];
  labels: LabelVersionInfo[];
  consensus: ConsensusInfo[];
  reviews: { decision: string; comment: string; round: number; at: string }[];
}

export interface Lease {
  readId: string;
  taskId: string;
  kind: 'annotation' | 'review' | 'adjudication';
  round: number;
  leaseExpiresAt: string;
  reworkComment: string | null;
  task: TaskDetail;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const TOKEN_KEY = 'contour.token';
const USER_KEY = 'contour.user';

let onUnauthorized: () => void = () => undefined;

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user(): User | null {
    const raw = sessionStorage.getItem(USER_KEY);
    return raw ? (JSON.parse(raw) as User) : null;
  },
  set(token: string, user: User) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
  onUnauthorized(fn: () => void) {
    onUnauthorized = fn;
  },
};

/** Nest answers errors as {message: string | string[]}: one readable sentence for the screen. */
function messageOf(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { message?: string | string[] };
    if (Array.isArray(body.message)) return body.message.join('; ');
    if (body.message) return body.message;
  } catch {
    /* not JSON */
  }
  return text || `The server answered ${status}`;
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  raw?: boolean;
}

async function request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
  }
  if (res.status === 401 && !path.endsWith('/auth/login')) {
    session.clear();
    onUnauthorized();
    throw new ApiError(401, 'Your session ended. Sign in again.');
  }
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, await res.text()));
  return res;
}

async function json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  const res = await request(method, path, { body, headers });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const p = (projectId: string) => `/api/projects/${projectId}`;

export const api = {
  async login(username: string, password: string) {
    const res = await json<{ accessToken: string; user: User }>('POST', '/api/auth/login', { username, password });
    session.set(res.accessToken, res.user);
    return res.user;
  },
  async logout() {
    await json('POST', '/api/auth/logout').catch(() => undefined);
    session.clear();
  },
  me: () => json<User>('GET', '/api/auth/me'),
  projects: () => json<ProjectSummary[]>('GET', '/api/projects'),
  /** A new project (managers and admins); its creator manages it. */
  createProject: (body: { name: string; description?: string }) => json<{ id: string; name: string }>('POST', '/api/projects', body),
  project: (id: string) => json<{ id: string; name: string; description: string; settings: ProjectSettings }>('GET', p(id)),
  updateProject: (id: string, patch: { description?: string; settings?: Partial<ProjectSettings> }) => json('PATCH', p(id), patch),

  // annotators
  nextTask: (projectId: string) => json<Lease | undefined>('POST', `${p(projectId)}/tasks/next`),
  myReads: (projectId: string) => json<InboxRead[]>('GET', `${p(projectId)}/my/reads`),
  heartbeat: (projectId: string, readId: string) => json<{ leaseExpiresAt: string }>('POST', `${p(projectId)}/reads/${readId}/heartbeat`),
  release: (projectId: string, readId: string) => json<void>('POST', `${p(projectId)}/reads/${readId}/release`),
  /** `base`: the draft this copy started from (null: none); a newer draft saved elsewhere answers 412. */
  saveDraft: (projectId: string, readId: string, body: Submission, base?: string | null) =>
    json<{ versionId: string }>('PUT', `${p(projectId)}/reads/${readId}/draft`, body, base === undefined ? undefined : { 'if-match': `"${base ?? 'none'}"` }),
  submit: (projectId: string, readId: string, body: Submission, idempotencyKey: string) =>
    json<{ versionId: string; taskState: string }>('POST', `${p(projectId)}/reads/${readId}/submit`, body, { 'idempotency-key': idempotencyKey }),
  task: (projectId: string, taskId: string) => json<TaskDetail>('GET', `${p(projectId)}/tasks/${taskId}`),
  async labelMask(projectId: string, taskId: string, versionId: string): Promise<Uint8Array> {
    const res = await request('GET', `${p(projectId)}/tasks/${taskId}/labels/${versionId}`);
    return new Uint8Array(await res.arrayBuffer());
  },
  /** A series' volume, or (`instance`) one image's on its own grid. */
  async volume(projectId: string, seriesId: string, instance?: string): Promise<ArrayBuffer> {
    // The uncompressed .nii over HTTP gzip: the browser inflates it natively.
    const res = await request('GET', `${p(projectId)}/${instance ? `instances/${instance}` : `series/${seriesId}`}/volume?format=nii`);
    return res.arrayBuffer();
  },
  prelabelStatus: (projectId: string, taskId: string) => json<PrelabelStatus>('GET', `${p(projectId)}/tasks/${taskId}/prelabel`),

  // reviewers
  nextReview: (projectId: string) => json<Lease | undefined>('POST', `${p(projectId)}/reviews/next`),
  review: (projectId: string, readId: string, body: { decision: 'approve' | 'edit-approve' | 'reject'; comment: string; mask?: string; answers?: Record<string, unknown> }) =>
    json<{ taskState: string }>('POST', `${p(projectId)}/reads/${readId}/review`, body),
  adjudicate: (projectId: string, readId: string, body: { mask?: string; answers?: Record<string, unknown>; comment?: string }) =>
    json<{ taskState: string }>('POST', `${p(projectId)}/reads/${readId}/adjudicate`, body),

  // managers
  tasks: (projectId: string, state?: string) => json<TaskRow[]>('GET', `${p(projectId)}/tasks${state ? `?state=${encodeURIComponent(state)}` : ''}`),
  /** A page of the task list: `query` holds limit (at most 1000), state (comma-separated) and afterId (the last task of the previous page). */
  taskPage: (projectId: string, query: Record<string, string>) => json<TaskRow[]>('GET', `${p(projectId)}/tasks?${new URLSearchParams(query)}`),
  stats: (projectId: string) => json<ProjectStats>('GET', `${p(projectId)}/stats`),
  audit: (projectId: string, query: Record<string, string>) => json<AuditLine[]>('GET', `${p(projectId)}/audit?${new URLSearchParams(query)}`),
  taskCounts: (projectId: string) => json<ProjectStats['byState']>('GET', `${p(projectId)}/tasks/counts`),
  history: (projectId: string, taskId: string) => json<{ task: { id: string; state: string; rejectionCount: number; reworkRound: number }; transitions: { from: string; to: string; event: string; actor: string; reason: string | null; at: string }[] }>('GET', `${p(projectId)}/tasks/${taskId}/history`),
  setPriority: (projectId: string, taskId: string, priority: number) => json<void>('PATCH', `${p(projectId)}/tasks/${taskId}`, { priority }),
  assign: (projectId: string, userId: string, taskIds: string[]) => json<{ assigned: string[]; skipped: { taskId: string; reason: string }[] }>('POST', `${p(projectId)}/tasks/assign`, { userId, taskIds }),
  decide: (projectId: string, taskId: string, decision: 'cancel' | 'reopen' | 'approve' | 'retry', comment: string) => json('POST', `${p(projectId)}/tasks/${taskId}/decisions/${decision}`, { comment }),
  protocols: (projectId: string) => json<{ id: string; version: number; definition: Omit<Protocol, 'version'>; createdAt: string }[]>('GET', `${p(projectId)}/protocols`),
  createProtocol: (projectId: string, body: Omit<Protocol, 'version'> & { appliesTo?: { modalities: string[]; bodyParts: string[] } }) => json<{ version: number }>('POST', `${p(projectId)}/protocols`, body),
  /** `skills`: the project's own for the member (what setMember sets); `accountSkills`: their account's, in every project. */
  members: (projectId: string) => json<{ userId: string; username: string; displayName: string; roles: string[]; skills: string[]; accountSkills: string[]; effectiveSkills: string[] }[]>('GET', `${p(projectId)}/members`),
  setMember: (projectId: string, userId: string, roles: string[], skills: string[]) => json<void>('PUT', `${p(projectId)}/members/${userId}`, { roles, skills }),
  removeMember: (projectId: string, userId: string) => json<void>('DELETE', `${p(projectId)}/members/${userId}`),
  users: () => json<User[]>('GET', '/api/users'),
  createUser: (body: { username: string; displayName?: string; password: string; roles: string[]; skills?: string[] }) => json<User>('POST', '/api/users', body),
  updateUser: (id: string, body: { displayName?: string; roles?: string[]; skills?: string[]; active?: boolean; password?: string }) => json<User>('PATCH', `/api/users/${id}`, body),
  registerModel: (file: File, manifest: string) => {
    const form = new FormData();
    form.append('model', file);
    form.append('manifest', manifest);
    return json<{ id: string; name: string; version: string }>('POST', '/api/models', form);
  },
  models: () => json<{ id: string; name: string; version: string; builtin: boolean; manifest: { description?: string; modality?: string[] | string } }[]>('GET', '/api/models'),
  exports: (projectId: string) => json<ExportRow[]>('GET', `${p(projectId)}/exports`),
  exportDetail: (projectId: string, exportId: string) => json<ExportRow & { report: ExportReport | null }>('GET', `${p(projectId)}/exports/${exportId}`),
  createExport: (projectId: string, body: { name?: string; options: Record<string, unknown> }) => json<{ id: string }>('POST', `${p(projectId)}/exports`, body),
  async balanceReport(projectId: string, exportId: string): Promise<string> {
    return (await request('GET', `${p(projectId)}/exports/${exportId}/balance-report`)).text();
  },
  /** The finished export's zip (the API needs the bearer token, so not a plain link). */
  async exportArchive(projectId: string, exportId: string): Promise<Blob> {
    return (await request('GET', `${p(projectId)}/exports/${exportId}/download`)).blob();
  },
  sources: (projectId: string) => json<{ id: string; name: string; url: string; authType: string }[]>('GET', `${p(projectId)}/sources`),
  addSource: (projectId: string, body: { name: string; url: string; auth: { type: 'none' } | { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string } }) =>
    json<{ id: string }>('POST', `${p(projectId)}/sources`, body),
  deleteSource: (projectId: string, sourceId: string) => json<void>('DELETE', `${p(projectId)}/sources/${sourceId}`),
  searchSource: (projectId: string, sourceId: string, query: Record<string, string>) =>
    json<{ studyInstanceUid: string; studyDate: string | null; studyDescription: string | null; modalities: string[]; instances: number | null }[]>('GET', `${p(projectId)}/sources/${sourceId}/studies?${new URLSearchParams(query)}`),
  importStudies: (projectId: string, sourceId: string, studyInstanceUids: string[]) => json<{ batchId: string }>('POST', `${p(projectId)}/sources/${sourceId}/imports`, { studyInstanceUids }),
  aeRoutes: (projectId: string) => json<{ callingAeTitle: string }[]>('GET', `${p(projectId)}/ae-routes`),
  setAeRoute: (projectId: string, ae: string) => json<void>('PUT', `${p(projectId)}/ae-routes/${encodeURIComponent(ae)}`),
  deleteAeRoute: (projectId: string, ae: string) => json<void>('DELETE', `${p(projectId)}/ae-routes/${encodeURIComponent(ae)}`),
  studies: (projectId: string) => json<{ id: string; studyInstanceUid: string; studyDate: string | null; description: string; patientPseudonym: string; seriesCount: number; instanceCount: number }[]>('GET', `${p(projectId)}/studies`),
  deidReport: (projectId: string, studyId: string) => json<DeidReport>('GET', `${p(projectId)}/studies/${studyId}/deid-report`),
  /** Quarantined files, newest first: a page of `limit` (API default 100, at most 1000) from `offset`, and the total. */
  quarantine: (projectId: string, page: { limit?: number; offset?: number } = {}) => {
    const query = new URLSearchParams(Object.entries(page).map(([k, v]) => [k, String(v)])).toString();
    return json<{ total: number; items: { id: string; fileName: string; sizeBytes: string; reasonCode: string; reason: string; updatedAt: string }[] }>('GET', `${p(projectId)}/quarantine${query ? `?${query}` : ''}`);
  },
  /** Images held for a privacy review (burned-in text), oldest first: a page of `limit` from `offset`, and the total. */
  privacyReview: (projectId: string, page: { state?: 'pending' | 'decided' | 'all'; limit?: number; offset?: number } = {}) => {
    const query = new URLSearchParams(Object.entries(page).map(([k, v]) => [k, String(v)])).toString();
    return json<{ total: number; items: PrivacyReviewItem[] }>('GET', `${p(projectId)}/privacy-review${query ? `?${query}` : ''}`);
  },
  /** A manager's decision on a held image; the same decision again answers `duplicate: true`, another one is refused (409). */
  privacyDecision: (projectId: string, instanceId: string, decision: PrivacyDecision, comment: string) =>
    json<PrivacyReviewRecord & { instanceId: string; duplicate: boolean }>('POST', `${p(projectId)}/privacy-review/${instanceId}`, { decision, comment }),
  /** The same decision for every image of a series still waiting for one. */
  privacySeriesDecision: (projectId: string, seriesId: string, decision: PrivacyDecision, comment: string) =>
    json<{ seriesId: string; decision: PrivacyDecision; decided: number }>('POST', `${p(projectId)}/privacy-review/series/${seriesId}`, { decision, comment }),
  /** One image rendered as PNG by WADO-RS (its first frame); fetched here because an <img> cannot send the Bearer token. */
  async renderedImage(projectId: string, image: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string }): Promise<Blob> {
    const path = `/dicom-web/projects/${projectId}/studies/${encodeURIComponent(image.studyInstanceUid)}/series/${encodeURIComponent(image.seriesInstanceUid)}/instances/${encodeURIComponent(image.sopInstanceUid)}/rendered`;
    return (await request('GET', path, { headers: { accept: 'image/png' } })).blob();
  },
  uploads: (projectId: string) => json<{ id: string; label: string; source: string; createdAt: string }[]>('GET', `${p(projectId)}/uploads`),
  /** A quarantined file through the pipeline again (managers), e.g. after the project's expected modalities changed. */
  reprocessQuarantined: (projectId: string, itemId: string) => json<{ itemId: string; status: string }>('POST', `${p(projectId)}/quarantine/${itemId}/reprocess`),
  uploadProgress: (projectId: string, batchId: string) => json<BatchProgress>('GET', `${p(projectId)}/uploads/${batchId}`),
  health: () => json<Health>('GET', '/api/health'),

  /** Multipart upload through XHR, the one browser API that reports upload progress. */
  upload(projectId: string, files: File[], onProgress: (sent: number, total: number) => void): Promise<{ batchId: string; files: number }> {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const f of files) form.append('files', f, f.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${p(projectId)}/uploads`);
      if (session.token) xhr.setRequestHeader('authorization', `Bearer ${session.token}`);
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
      xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve(JSON.parse(xhr.responseText)) : reject(new ApiError(xhr.status, messageOf(xhr.status, xhr.responseText))));
      xhr.onerror = () => reject(new ApiError(0, 'The upload was interrupted. Check your connection and send the files again.'));
      xhr.send(form);
    });
  },
};

export type PrivacyDecision = 'clear' | 'exclude';

/** A manager's decision on an image held for a privacy review, as the API records it. */
export interface PrivacyReviewRecord {
  decision: PrivacyDecision;
  comment: string;
  by: string;
  at: string;
}

/** An image whose pixels may show identifying text (its flags say why), with its decision once there is one. */
export interface PrivacyReviewItem {
  id: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  seriesId: string;
  studyId: string;
  modality: string;
  frames: number | null;
  flags: string[];
  review: PrivacyReviewRecord | null;
  receivedAt: string;
}

export interface Submission {
  mask?: string;
  answers?: Record<string, unknown>;
}

export interface InboxRead {
  readId: string;
  taskId: string;
  kind: string;
  state: string;
  round: number;
  leaseExpiresAt: string | null;
  reworkComment: string | null;
  submittedAt: string | null;
  taskState: string;
  modality: string;
  taskKind: string;
}

export interface PrelabelStatus {
  taskId: string;
  taskState: string;
  state: string;
  position?: number | null;
  etaSeconds?: number | null;
  failedReason?: string | null;
}

/** A line of the audit log (GET /projects/:id/audit). */
export interface AuditLine {
  id: string;
  at: string;
  actorId: string | null;
  actorName: string;
  ip: string | null;
  action: string;
  objectType: string;
  objectId: string | null;
  projectId: string | null;
  details: Record<string, unknown>;
}

export interface TaskRow {
  id: string;
  state: string;
  kind: string;
  modality: string;
  priority: number;
  uncertainty: number | null;
  agreement: number | null;
  readsRequired: number;
  readsSubmitted: number;
  reworkRound: number;
  rejectionCount: number;
  stateChangedAt: string;
  createdAt: string;
  stateReason: string | null;
  /** An image of the task waits for a privacy review: nobody is offered the task until it is cleared. */
  privacyHeld: boolean;
}

export interface ExportRow {
  id: string;
  name: string;
  state: 'queued' | 'running' | 'done' | 'failed' | string;
  progress: number;
  sizeBytes: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ExportReport {
  cases: number;
  splits: Record<string, { cases: number; patients: number }>;
  warnings: { attribute: string; value: string; kind: string; message?: string }[];
  notices: string[];
}

export interface PairMember {
  userId: string;
  username: string | null;
}

export interface ProjectStats {
  byState: { state: string; n: number }[];
  approvedPerDay: { day: string; approved: number }[];
  timeInState: { state: string; meanSeconds: number; medianSeconds: number; visits: number }[];
  reviews: { rejected: number; reviews: number };
  agreement: {
    mean: number | null;
    histogram: { bucket: number; n: number }[];
    /** Fleiss' kappa per classification question, per number of raters. */
    classification: { question: string; fleiss: { raters: number; items: number; kappa: number }[] }[];
    /** Reader against reader, pooled over the tasks each pair shared. */
    pairs: {
      dice: { a: PairMember; b: PairMember; comparisons: number; meanDice: number }[];
      shapes: { a: PairMember; b: PairMember; comparisons: number; meanAgreement: number }[];
      classification: { a: PairMember; b: PairMember; question: string; items: number; observed: number; kappa: number }[];
    };
  };
  annotators: { userId: string; username: string; reads: number; rejected: number; rejectionRate: number; meanDiceVsConsensus: number | null; /** mean shape agreement of the reader pairs they were in */ meanShapeAgreement: number | null }[];
}

export interface ProjectSettings {
  quality: { reads: number; agreementThreshold: number; mergeMethod: 'majority' | 'staple'; reviewRequired: boolean; maxReworkRounds: number; leaseSeconds: number };
  split: { policy: 'series' | 'image' | 'frames' | 'view-group'; framesPerTask: number };
  requiredSkills: Record<string, string[]>;
  expectedModalities: string[];
  /** The PS3.15 options (booleans) and burnedInHold: which images with possible burned-in text wait for a manager. */
  deid: Record<string, boolean | string> & { burnedInHold?: 'declared' | 'all' | 'none' };
  prelabelModels: string[];
}

export interface BatchProgress {
  batchId: string;
  label: string;
  createdAt: string;
  total: number;
  counts: Record<string, number>;
  done: boolean;
  /** A PACS import: its retrieval job's state, and why it failed. */
  importState?: string;
  error?: string;
}

export interface Health {
  status: string;
  queues: { ok: boolean; detail?: Record<string, { counts: Record<string, number>; workers: number }>; error?: string };
  postgres: { ok: boolean; ms: number };
  redis: { ok: boolean; ms: number };
}
