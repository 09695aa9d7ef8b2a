// Typed configuration, validated once at start-up. A bad value stops the process with a message that names
// the variable and what was expected (never a stack trace from deep inside a driver).
import { z } from 'zod';
import { resolve } from 'node:path';
import { parseAllowedHosts } from '@contour/dicomweb';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(':', ''));
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}` },
  );

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `expected a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** The environment variables Contour reads; every one is optional unless the process needs it. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(1, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: url(['http', 'https']).optional(),
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  /** Hot statements as named prepared statements; off for the embedded PGlite, whose one backend every connection shares. */
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, 'expected letters, digits, "_" or "-"')
    .default('contour'),
  JWT_SECRET: z.string().min(32, 'expected at least 32 characters').optional(),
  JWT_TTL_SECONDS: int(60, 30 * 24 * 3600).default(12 * 3600),
  CONTOUR_DATA_DIR: z.string().min(1).default('./.contour'),
  CONTOUR_ADMIN_PASSWORD: z.string().min(8, 'expected at least 8 characters').optional(),
  BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  S3_ENDPOINT: url(['http', 'https']).optional(),
  S3_BUCKET: z.string().min(3).optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  WORKER_QUEUES: z.string().optional(),
  WORKER_CONCURRENCY: int(1, 64).default(2),
  JOB_LOCK_MS: int(1000, 3_600_000).default(30_000),
  JOB_ATTEMPTS: int(1, 50).default(5),
  JOB_BACKOFF_MS: int(10, 600_000).default(2000),
  UPLOAD_MAX_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(4 * 1024 ** 3),
  ZIP_MAX_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(16 * 1024 ** 3),
  DISK_RESERVE_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(1024 ** 3),
  VOLUME_PREBUILD_MAX_MB: int(0, 1_000_000).default(512),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool.default(false),
  DB_MIGRATE: bool.default(true),
  DICOM_ENABLED: bool.default(true),
  DICOM_PORT: int(1, 65535).default(11112),
  DICOM_AE_TITLE: z
    .string()
    .regex(/^[\x20-\x7e]{1,16}$/, 'expected 1-16 printable ASCII characters')
    .refine((v) => !/\\/.test(v) && v.trim().length > 0, 'expected an AE title without backslashes')
    .default('CONTOUR'),
  DICOM_DEFAULT_PROJECT: z.string().min(1).optional(),
  /** The PACS that DICOMweb sources may name (host names, "*.domain", IPs, CIDR ranges, comma-separated); unset: any. */
  DICOMWEB_ALLOWED_HOSTS: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        if (v !== undefined) parseAllowedHosts(v.split(','));
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
  STOW_WAIT_SECONDS: int(0, 600).default(30),
  INFERENCE_THREADS: int(1, 256).optional(),
  WEB_ROOT: z.string().min(1).optional(),
  INFERENCE_PROVIDERS: z
    .string()
    .regex(/^(cpu|cuda)(,(cpu|cuda))*$/, 'expected a comma-separated list of cpu, cuda')
    .default('cpu'),
});

export type ContourEnv = z.infer<typeof envSchema>;

export interface ContourConfig {
  env: ContourEnv['NODE_ENV'];
  http: { port: number; host: string; publicUrl?: string };
  database: { url?: string; poolSize: number; migrate: boolean; preparedStatements: boolean };
  redis: { url?: string; queuePrefix: string };
  auth: { jwtSecret?: string; jwtTtlSeconds: number; adminPassword?: string };
  dataDir: string;
  blobStore:
    | { kind: 'fs'; root: string }
    | {
        kind: 's3';
        endpoint?: string;
        bucket: string;
        region: string;
        accessKeyId?: string;
        secretAccessKey?: string;
        forcePathStyle: boolean;
      };
  worker: { queues?: string[]; concurrency: number };
  jobs: { lockMs: number; attempts: number; backoffMs: number };
  /** maxBytes: one uploaded file (or STOW-RS part); zipMaxBytes: what one uploaded zip may expand to. */
  /** diskReserveBytes: free space receiving never goes below (uploads, STOW-RS, zips, C-STORE); 0: no floor. */
  uploads: { maxBytes: number; zipMaxBytes: number; diskReserveBytes: number };
  volumes: {
    /**
     * A checked DICOM series whose volume needs at most this many MB while it is built (4 bytes per voxel) gets
     * its NIfTI built right away, so the viewer, pre-labelling and exports find it ready; 0 turns this off.
     * Larger series are built on first use.
     */
    prebuildMaxMb: number;
  };
  log: { level: ContourEnv['LOG_LEVEL']; pretty: boolean };
  dicom: {
    /** Run the DICOM C-STORE receiver in the coordinator. */
    enabled: boolean;
    port: number;
    aeTitle: string;
    /** Project (id or name) for DICOM traffic that names no project: unknown calling AEs, STOW-RS at the root. */
    defaultProject?: string;
    /** How long STOW-RS waits for ingest to finish before answering with what is known (202). */
    stowWaitSeconds: number;
  };
  /** DICOMweb sources (PACS imports): the hosts they may name, null for any (link-local addresses never). */
  dicomweb: { allowedHosts: string[] | null };
  web: { root: string };
  inference: {
    /** ONNX Runtime intra-op threads per session (default: ONNX Runtime's choice, the core count). */
    threads?: number;
    /** Execution providers in order of preference; CUDA is used when configured and present, CPU otherwise. */
    providers: ('cpu' | 'cuda')[];
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment into a ContourConfig or throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ContourConfig {
  const input = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => (env[key] === undefined || env[key] === '' ? [] : [[key, env[key]]])),
  );
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '?');
        const value = env[name];
        return `${name}=${JSON.stringify(value)}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.BLOB_STORE === 's3' && !e.S3_BUCKET) problems.push('S3_BUCKET: required when BLOB_STORE=s3');
  if (problems.length) throw new ConfigError(problems);

  const dataDir = resolve(e.CONTOUR_DATA_DIR);
  return {
    env: e.NODE_ENV,
    http: { port: e.PORT, host: e.HOST, publicUrl: e.PUBLIC_URL },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, migrate: e.DB_MIGRATE, preparedStatements: e.DATABASE_PREPARED_STATEMENTS },
    redis: { url: e.REDIS_URL, queuePrefix: e.QUEUE_PREFIX },
    auth: { jwtSecret: e.JWT_SECRET, jwtTtlSeconds: e.JWT_TTL_SECONDS, adminPassword: e.CONTOUR_ADMIN_PASSWORD },
    dataDir,
    blobStore:
      e.BLOB_STORE === 's3'
        ? {
            kind: 's3',
            endpoint: e.S3_ENDPOINT,
            bucket: e.S3_BUCKET!,
            region: e.S3_REGION,
            accessKeyId: e.S3_ACCESS_KEY_ID,
            secretAccessKey: e.S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.S3_FORCE_PATH_STYLE,
          }
        : { kind: 'fs', root: resolve(dataDir, 'blobs') },
    worker: {
      queues: e.WORKER_QUEUES?.split(',')
        .map((q) => q.trim())
        .filter(Boolean),
      concurrency: e.WORKER_CONCURRENCY,
    },
    jobs: { lockMs: e.JOB_LOCK_MS, attempts: e.JOB_ATTEMPTS, backoffMs: e.JOB_BACKOFF_MS },
    uploads: { maxBytes: e.UPLOAD_MAX_BYTES, zipMaxBytes: e.ZIP_MAX_BYTES, diskReserveBytes: e.DISK_RESERVE_BYTES },
    volumes: { prebuildMaxMb: e.VOLUME_PREBUILD_MAX_MB },
    log: { level: e.LOG_LEVEL, pretty: e.LOG_PRETTY },
    dicom: {
      enabled: e.DICOM_ENABLED,
      port: e.DICOM_PORT,
      aeTitle: e.DICOM_AE_TITLE.trim(),
      defaultProject: e.DICOM_DEFAULT_PROJECT,
      stowWaitSeconds: e.STOW_WAIT_SECONDS,
    },
    dicomweb: { allowedHosts: e.DICOMWEB_ALLOWED_HOSTS?.split(',').map((h) => h.trim()).filter(Boolean) ?? null },
    web: { root: resolve(e.WEB_ROOT ?? resolve(__dirname, '../../../apps/web')) },
    inference: { threads: e.INFERENCE_THREADS, providers: e.INFERENCE_PROVIDERS.split(',') as ('cpu' | 'cuda')[] },
  };
}

/** Values a running process cannot do without; the launcher fills them in for the embedded setup. */
export function requireRuntime(config: ContourConfig): Required<Pick<ContourConfig['database'], 'url'>> & {
  redisUrl: string;
  jwtSecret: string;
} {
  const missing: string[] = [];
  if (!config.database.url) missing.push('DATABASE_URL: required (postgres://user@host:5432/db), or start Contour with `npm start`, which runs an embedded PostgreSQL');
  if (!config.redis.url) missing.push('REDIS_URL: required (redis://host:6379), or start Contour with `npm start`, which finds or launches Redis');
  if (!config.auth.jwtSecret) missing.push('JWT_SECRET: required (at least 32 random characters), or start Contour with `npm start`, which generates one under CONTOUR_DATA_DIR');
  if (missing.length) throw new ConfigError(missing);
  return { url: config.database.url!, redisUrl: config.redis.url!, jwtSecret: config.auth.jwtSecret! };
}
