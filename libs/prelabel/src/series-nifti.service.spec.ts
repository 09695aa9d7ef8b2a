// The series volume of a colour ultrasound cine, with the database faked and the real file, decoder, blob store and
// NIfTI writer: what `series/:id/volume` serves and what pre-labelling reads of a series task. Both failed ("The data
// holds 6912000 values but dims [320, 240, 30] need 2304000"): the series volume kept the three colour samples of
// each pixel where the image's own volume (`instances/:id/volume`) was its luminance.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DataSource } from 'typeorm';
import { Instance, Series } from '@contour/db';
import { readDicom } from '@contour/dicom';
import { FsBlobStore } from '@contour/storage';
import { computeSeriesGeometry, instanceGeometryFromDicom, readNifti, storedGeometry } from '@contour/volume';
import { SeriesNifti } from './series-nifti.service';
import { SeriesVolumeLoader } from './series-volume.service';

const DATA = process.env.CONTOUR_TEST_DATA ?? resolve(__dirname, '../../../../shared/data');

describe('the series volume of a colour cine', () => {
  let root: string;
  let blobs: FsBlobStore;
  let series: Partial<Series>;
  let instance: Partial<Instance>;
  let nifti: SeriesNifti;
  let loader: SeriesVolumeLoader;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'contour-series-nifti-'));
    blobs = new FsBlobStore(root);
    const file = readFileSync(join(DATA, 'dicom/modalities/us-color-30frames-jpeg.dcm'));
    const parsed = readDicom(file);
    const geometry = { ...instanceGeometryFromDicom(parsed), id: 'inst-1' };
    // As ingest stores them: the instance's geometry record, the series' geometry without its slice list.
    instance = { id: 'inst-1', seriesId: 'series-1', blobKey: (await blobs.put(file)).key, attributes: { geometry }, pixelSpacing: null };
    series = { id: 'series-1', projectId: 'project-1', source: 'dicom', geometry: storedGeometry(computeSeriesGeometry([geometry])) as never, volumeBlobKey: null };
    const match = (row: object, where: object) => Object.entries(where).every(([k, v]) => (row as Record<string, unknown>)[k] === v);
    const dataSource = {
      getRepository: (entity: unknown) => {
        const rows = entity === Series ? [series] : entity === Instance ? [instance] : [];
        return { findOneBy: async (where: object) => rows.find((r) => match(r, where)) ?? null, findBy: async (where: object) => rows.filter((r) => match(r, where)) };
      },
      query: async () => [],
    } as unknown as DataSource;
    loader = new SeriesVolumeLoader(dataSource, blobs);
    nifti = new SeriesNifti(dataSource, blobs, loader);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is a NIfTI of its frames, voxel for voxel the luminance the image’s own volume has', async () => {
    expect((series.geometry as { kind?: string }).kind).toBe('multi-frame-2d');
    const key = await nifti.niftiOf('project-1', 'series-1');
    const volume = readNifti(gunzipSync(await blobs.getBuffer(key)));
    expect(volume.dims.slice(0, 3)).toEqual([320, 240, 30]);
    const own = readNifti(gunzipSync(await nifti.instanceNifti('inst-1')));
    expect(own.dims.slice(0, 3)).toEqual([320, 240, 30]);
    expect(volume.data.length).toBe(own.data.length);
    let differing = 0;
    for (let n = 0; n < own.data.length; n++) if (Math.abs((volume.data[n] as number) - (own.data[n] as number)) > 1e-3) differing++;
    expect(differing).toBe(0);
    expect(Array.from(volume.data as ArrayLike<number>).some((v) => v > 0)).toBe(true);
  });

  it('is what pre-labelling reads for a series task: one value per voxel', async () => {
    const [{ volume }] = await loader.loadForTask({ kind: 'series', seriesIds: ['series-1'], instanceId: null, frameStart: null, frameEnd: null });
    expect(volume.dims).toEqual([320, 240, 30]);
    expect(volume.data.length).toBe(320 * 240 * 30);
  });
});
