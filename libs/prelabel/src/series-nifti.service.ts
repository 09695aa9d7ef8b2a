// A series as a cached .nii.gz in the blob store: uploaded NIfTI volumes as they are, DICOM series built once
// from their (de-identified) instances. The viewer, scripts and exports read this.
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Series } from '@contour/db';
import { BLOB_STORE, BlobStore } from '@contour/storage';
import { VolumeAssemblyError, volumeBuildMb, writeNiftiGzip } from '@contour/volume';
import { LoadedVolume, SeriesVolumeLoader } from './series-volume.service';

@Injectable()
export class SeriesNifti {
  private readonly building = new Map<string, Promise<string>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly loader: SeriesVolumeLoader,
  ) {}

  /**
   * Blob key of the series' NIfTI, building it the first time (concurrent callers share one build). A series whose
   * images cannot be stacked (different sizes, pixel formats or rescales) is a 409 saying why: its images are
   * served one by one (`instances/:id/volume`).
   */
  async niftiOf(projectId: string, seriesId: string): Promise<string> {
    const series = await this.dataSource.getRepository(Series).findOneBy({ id: seriesId, projectId });
    if (!series) throw new NotFoundException(`No series ${seriesId} in this project`);
    try {
      return await this.ensure(series);
    } catch (e) {
      if (e instanceof VolumeAssemblyError) throw new ConflictException(`This series is not one volume: ${e.message}. Its images can be read one by one (instances/:id/volume)`);
      throw e;
    }
  }

  /**
   * The series-volume job: builds the NIfTI of a checked series ahead of its first use. Null (nothing built)
   * when the series is gone, when its geometry is no longer the one the job was queued for (instances kept
   * arriving: the newer geometry check queues its own job if the series is still small enough), or when it needs
   * more than `maxMb` (4 bytes per voxel) to build.
   */
  async prebuild(seriesId: string, maxMb = Infinity, queuedDims?: number[]): Promise<string | null> {
    const series = await this.dataSource.getRepository(Series).findOneBy({ id: seriesId });
    if (!series) return null;
    const dims = (series.geometry as { dims?: number[] } | null)?.dims ?? [];
    if (queuedDims && dims.join('x') !== queuedDims.join('x')) return null;
    if (volumeBuildMb(dims) > maxMb) return null;
    return this.ensure(series);
  }

  private async ensure(series: Series): Promise<string> {
    if (series.volumeBlobKey && (await this.blobs.exists(series.volumeBlobKey))) return series.volumeBlobKey;
    let pending = this.building.get(series.id);
    if (!pending) {
      pending = (async () => {
        // Streamed from the instances as int16 slices (memory: one file, not the volume), unless this process
        // already has the volume decoded (a pre-label job of the same series) or it is not int16 material.
        const streamed = this.loader.holdsCompact(series) ? null : await this.loader.streamNiftiGzip(series);
        const key = (await this.blobs.put(streamed ?? (await this.wholeVolumeNifti(series)))).key;
        // Cache it only if the geometry is still the one this build started from: instances that arrived
        // meanwhile rebuilt the geometry (and cleared the key), and this volume lacks them.
        await this.dataSource.query(`UPDATE series SET volume_blob_key = $2 WHERE id = $1 AND geometry IS NOT DISTINCT FROM $3::jsonb`, [series.id, key, series.geometry === null ? null : JSON.stringify(series.geometry)]);
        return key;
      })().finally(() => this.building.delete(series.id));
      this.building.set(series.id, pending);
    }
    return pending;
  }

  /**
   * One image, all its frames, as a .nii.gz on its own grid ([columns, rows, frames], the pixel spacing on the image
   * axes): what image and frame-range tasks of a series that is not one volume (images of different sizes) are drawn
   * on. Built on each request, not cached: one image decodes in milliseconds.
   */
  async instanceNifti(instanceId: string): Promise<Buffer> {
    return this.niftiOfVolume(await this.loader.loadFrames(instanceId, null, null));
  }

  private async wholeVolumeNifti(series: Series): Promise<Buffer> {
    return this.niftiOfVolume(await this.loader.load(series.id, { compact: true, cached: false }));
  }

  private niftiOfVolume(volume: LoadedVolume): Promise<Buffer> {
    let data = volume.data;
    if (data instanceof Float32Array && isIntegral(data)) {
      // Typed-array set converts natively (Int16Array.from iterates element by element).
      const int16 = new Int16Array(data.length);
      int16.set(data);
      data = int16;
    }
    // Compressed on libuv's thread pool: a 300-slice CT takes ~1 s to gzip, which would otherwise stall every
    // other job of this process (a pre-label job of the same series, typically) for that long.
    return writeNiftiGzip({ dims: volume.dims, affineRas: volume.affineRas as never, data, description: 'Contour' }, 1);
  }
}

/** Rescaled CT/MR values are whole numbers within int16 far more often than not: store them compactly. */
function isIntegral(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i += 97) {
    const v = data[i];
    if (v !== Math.round(v) || v < -32768 || v > 32767) return false;
  }
  for (let i = 0; i < data.length; i++) if (data[i] !== Math.round(data[i]) || data[i] < -32768 || data[i] > 32767) return false;
  return true;
}
