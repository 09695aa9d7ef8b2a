// Public surface of @contour/consensus: how far the reads of one task agree, and their merge into one label map.
// Pure functions on typed arrays; the routing code compares computeAgreement(...).agreement with the project's
// threshold, the adjudication view shows disagreementRegions.
export { answerAgreement } from './answers';
export { computeAgreement } from './agreement';
export type { AgreementOptions, AgreementReport, LabelAgreement } from './agreement';
export { boxIoU } from './box-iou';
export type { Box2 } from './box-iou';
export { disagreementRegions } from './disagreement';
export type { DisagreementOptions, DisagreementRegion, LabelDisagreement } from './disagreement';
export { squaredDistanceTransform } from './distance-transform';
export { assertMasksFitGrid, voxelCount, voxelVolume } from './grid';
export type { Box3, Grid, Mask, Vec3 } from './grid';
export { cohenKappa, cohenKappaFromTable, fleissKappa, fleissKappaFromRatings } from './kappa';
export { classificationAgreement, pairMeans, readerScores } from './reader-agreement';
export type { AnsweredItem, ConsensusMetrics, PairKappa, PairSum, QuestionAgreement, ReaderScore } from './reader-agreement';
export { majorityVote } from './majority-vote';
export type { MergeOutput, MergeResult } from './merge';
export { compareReads, overlapMetrics } from './overlap';
export type { LabelOverlap, LabelSummary, OverlapOptions, PairOverlap, ReadComparison, Spread } from './overlap';
export { staple, STAPLE_MAX_READS } from './staple';
export type { RaterPerformance, StapleLabel, StapleOptions, StapleResult } from './staple';
export { polygonIoU, shapeAgreement, shapeSimilarity } from './shapes';
export type { MergedShapeInfo, ShapeAgreementOptions, ShapeAgreementReport, ShapeLabelAgreement, ShapeLike } from './shapes';
