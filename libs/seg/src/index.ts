// Public API of @contour/seg: DICOM Segmentation (SEG) and RT Structure Set (RTSTRUCT) objects from label maps
// on a source series, and reading SEGs back onto that series' grid. Pure functions: buffers in, buffers out.
export * from './types';
export * from './color';
export { traceLabelOutlines, shoelaceArea, type PixelPolygon } from './contours';
export { packBits, unpackFrame } from './pixels';
export { writeSegmentation, SEGMENTATION_STORAGE, type SegmentationInput } from './segmentation-writer';
export { readSegmentation, type ReadSegment, type ReadSegmentation, type ReadSegmentationOptions, type SegmentationGrid } from './segmentation-reader';
export { writeRtStruct, RT_STRUCTURE_SET_STORAGE, type RtStructInput } from './rtstruct-writer';
