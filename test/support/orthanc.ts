// A real Orthanc PACS (Debian packages orthanc + orthanc-dicomweb) on loopback, for tests and benchmarks.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RunningProcess } from './processes';
import { ChildProcess, spawn } from 'node:child_process';

export interface Orthanc {
  httpUrl: string;
  dicomWebUrl: string;
  dicomPort: number;
  aeTitle: string;
  stop(): Promise<void>;
  upload(file: Buffer): Promise<{ ID: string; ParentStudy: string }>;
}

export async function startOrthanc(): Promise<Orthanc> {
  const dir = mkdtempSync(join(tmpdir(), 'orthanc-'));
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const config = {
    Name: 'ContourTestPACS',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: 'ORTHANC',
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, Ssl: false, StudiesMetadata: 'Full' },
    HttpServerEnabled: true,
    ConcurrentJobs: 2,
    DicomModalities: {},
    StorageCompression: false,
  };
  const configPath = join(dir, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config));
  const child: ChildProcess = spawn('Orthanc', [configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${httpUrl}/system`)).ok) break;
    } catch {
      /* starting */
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Orthanc did not start:\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    httpUrl,
    dicomWebUrl: `${httpUrl}/dicom-web`,
    dicomPort,
    aeTitle: 'ORTHANC',
    async upload(file: Buffer) {
      const res = await fetch(`${httpUrl}/instances`, { method: 'POST', body: new Uint8Array(file), headers: { 'content-type': 'application/dicom' } });
      if (!res.ok) throw new Error(`Orthanc refused the upload: ${res.status} ${await res.text()}`);
      return (await res.json()) as { ID: string; ParentStudy: string };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
export type { RunningProcess };
