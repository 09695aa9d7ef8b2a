// Builds the volume of the DICOM series in a directory once and prints the time as JSON: run as a child
// process by the ingest benchmark, so each measurement starts from a fresh heap as dcm2niix does.
//   node dist/bench/volume-build.js <dir> raw|hu
// raw: read, parse, decode and stack the stored values (what dcm2niix does; it writes scl_slope/scl_inter).
// hu: Contour's NIfTI build path: HU values into int16, one file at a time, the geometry from the index.
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readDicom } from '../libs/dicom/src';
import { buildVolume, decodeFrames, instanceGeometryFromDicom, VolumeBuilder } from '../libs/volume/src';

async function main() {
  const [dir, mode] = process.argv.slice(2);
  const files = readdirSync(dir).map((f) => join(dir, f));
  // The ingest index holds each instance's geometry record; read them first, outside the timing.
  const records = mode === 'hu' ? await Promise.all(files.map(async (f) => ({ ...instanceGeometryFromDicom(readDicom(await readFile(f))), id: f }))) : [];
  const t0 = performance.now();
  if (mode === 'hu') {
    const builder = new VolumeBuilder(records, { rescale: 'int16-or-float32' });
    for (const f of files) {
      const buffer = await readFile(f);
      builder.add(f, await decodeFrames({ buffer, parsed: readDicom(buffer, { untilPixelData: true }) }, { consumeParsed: true }));
    }
    builder.finish();
  } else {
    const parts = [];
    for (const f of files) {
      const buffer = await readFile(f);
      const parsed = readDicom(buffer, { untilPixelData: true });
      parts.push({ geometry: instanceGeometryFromDicom(parsed), frames: await decodeFrames({ buffer, parsed }, { consumeParsed: true }) });
    }
    buildVolume(parts);
  }
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }));
}

void main();
