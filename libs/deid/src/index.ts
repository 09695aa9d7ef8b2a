// Public API of @contour/deid: DICOM de-identification per PS3.15 Annex E, as pure functions over dcmjs dicts.
export * from './burned-in';
export * from './clean-descriptor';
export * from './date-shift';
export * from './deidentify';
export * from './dummy-values';
export * from './options';
export * from './private-tags';
export * from './profile-table';
export * from './pseudonym';
export * from './report';
export * from './uid-remap';
