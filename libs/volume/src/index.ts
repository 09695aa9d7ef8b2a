// Public API of @contour/volume: DICOM series geometry, pixel decoding, volume assembly, NIfTI I/O and
// resampling.
export * from './affine';
export * from './voxel-data';
export * from './orientation';
export * from './series-geometry';
export * from './slice-plane';
export * from './dicom-geometry';
export * from './pixel-decode-error';
export * from './pixel-decoding';
export * from './explicit-little-endian';
export * from './luminance';
export * from './siemens-mosaic';
export * from './volume-assembly';
export * from './nifti';
export * from './resampling';
export * from './rendering';
