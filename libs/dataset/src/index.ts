// Public surface of @contour/dataset: the pure logic of a dataset export. Patient-level stratified splits, the
// balance (bias) report as JSON and HTML, and the manifests that go into the archive (nnU-Net v2 / Decathlon
// dataset.json, COCO, per-case provenance). No I/O: the export worker reads the database and writes the files.
export * from './balance-report';
export * from './balance-report-html';
export * from './coco';
export * from './dataset-case';
export * from './nnunet';
export * from './patient-split';
export * from './provenance';
export * from './seeded-random';
