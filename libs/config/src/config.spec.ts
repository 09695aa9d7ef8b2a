import { ConfigError, loadConfig, requireRuntime } from './config';

describe('loadConfig', () => {
  it('applies defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(3000);
    expect(c.blobStore.kind).toBe('fs');
    expect(c.worker.queues).toBeUndefined();
    expect(c.jobs.attempts).toBe(5);
    expect(c.dicomweb.allowedHosts).toBeNull();
    expect(loadConfig({ DICOMWEB_ALLOWED_HOSTS: ' pacs.example , 10.0.0.0/8 ' }).dicomweb.allowedHosts).toEqual(['pacs.example', '10.0.0.0/8']);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT="eighty": expected a whole number between 1 and 65535/],
    [{ PORT: '70000' }, /PORT="70000"/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL="mysql:\/\/x": expected a URL starting with postgres:\/\/ or postgresql:\/\//],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL="localhost:6379": expected a URL starting with redis:\/\//],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET="short": expected at least 32 characters/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud"/],
    [{ BLOB_STORE: 's3' }, /S3_BUCKET: required when BLOB_STORE=s3/],
    [{ LOG_PRETTY: 'maybe' }, /LOG_PRETTY="maybe"/],
    [{ DICOM_AE_TITLE: 'A_VERY_LONG_AE_TITLE_X' }, /DICOM_AE_TITLE="A_VERY_LONG_AE_TITLE_X": expected 1-16 printable ASCII/],
    [{ DICOM_PORT: '0' }, /DICOM_PORT="0"/],
    [{ DICOMWEB_ALLOWED_HOSTS: 'pacs.example,http://pacs' }, /DICOMWEB_ALLOWED_HOSTS="pacs.example,http:\/\/pacs": DICOMWEB_ALLOWED_HOSTS: "http:\/\/pacs" is neither a host name/],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'x', REDIS_URL: 'y' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect((e as ConfigError).problems).toHaveLength(2);
    }
  });

  it('parses the worker queue list and S3 settings', () => {
    const c = loadConfig({ WORKER_QUEUES: 'ingest, prelabel', BLOB_STORE: 's3', S3_BUCKET: 'scans' });
    expect(c.worker.queues).toEqual(['ingest', 'prelabel']);
    expect(c.blobStore).toMatchObject({ kind: 's3', bucket: 'scans', forcePathStyle: true });
  });

  it('requireRuntime names what a process cannot start without', () => {
    expect(() => requireRuntime(loadConfig({}))).toThrow(/DATABASE_URL[\s\S]*REDIS_URL[\s\S]*JWT_SECRET/);
    const ok = loadConfig({ DATABASE_URL: 'postgres://a@b/c', REDIS_URL: 'redis://r:1', JWT_SECRET: 'x'.repeat(32) });
    expect(requireRuntime(ok).redisUrl).toBe('redis://r:1');
  });
});
