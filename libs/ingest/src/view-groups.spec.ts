// View groups of one study: multi-plane MR/CT sets linked, single-plane studies left per series, projection views
// (mammography) untouched, and series arriving one after another.
import { multiPlaneViewGroup, multiPlaneViewGroups, projectionViewGroup, type SeriesForViewGroups } from './view-groups';

const STUDY = 'study-1';
const series = (id: string, over: Partial<SeriesForViewGroups> = {}): SeriesForViewGroups => ({ id, modality: 'MR', bodyPart: 'HEAD', qcStatus: 'ok', plane: 'axial', viewGroup: null, ...over });
const MR_HEAD = multiPlaneViewGroup(STUDY, 'MR', 'HEAD');

describe('multiPlaneViewGroups', () => {
  test.each<[string, SeriesForViewGroups[], Record<string, string | null>]>([
    ['axial T1 and T2 only: no group (one task per series)', [series('t1'), series('t2')], { t1: null, t2: null }],
    ['axial and coronal: both linked', [series('ax'), series('cor', { plane: 'coronal' })], { ax: MR_HEAD, cor: MR_HEAD }],
    ['two axial and a sagittal: all three linked', [series('t1'), series('t2'), series('sag', { plane: 'sagittal' })], { t1: MR_HEAD, t2: MR_HEAD, sag: MR_HEAD }],
    ['axial and oblique count as two planes', [series('ax'), series('obl', { plane: 'oblique' })], { ax: MR_HEAD, obl: MR_HEAD }],
    ['one series alone', [series('ax')], { ax: null }],
    ['CT in two planes', [series('ax', { modality: 'CT', bodyPart: 'CHEST' }), series('cor', { modality: 'CT', bodyPart: 'CHEST', plane: 'coronal' })], { ax: multiPlaneViewGroup(STUDY, 'CT', 'CHEST'), cor: multiPlaneViewGroup(STUDY, 'CT', 'CHEST') }],
    [
      'other body parts are other groups (the knee has one plane)',
      [series('ax'), series('cor', { plane: 'coronal' }), series('knee', { bodyPart: 'KNEE' })],
      { ax: MR_HEAD, cor: MR_HEAD, knee: null },
    ],
    ['body parts compare without case or spaces', [series('ax', { bodyPart: 'head ' }), series('cor', { plane: 'coronal' })], { ax: MR_HEAD, cor: MR_HEAD }],
    ['no body part on either: grouped by modality', [series('ax', { bodyPart: null }), series('cor', { bodyPart: null, plane: 'coronal' })], { ax: multiPlaneViewGroup(STUDY, 'MR', null), cor: multiPlaneViewGroup(STUDY, 'MR', null) }],
    ['MR and CT of one study are not linked to each other', [series('mr'), series('ct', { modality: 'CT', plane: 'coronal' })], { mr: null, ct: null }],
    [
      'a series that failed its check or has no 3D geometry takes no part (and gets no group)',
      [series('ax'), series('bad', { plane: 'coronal', qcStatus: 'failed' }), series('loc', { plane: null }), series('new', { plane: null, qcStatus: 'pending' })],
      { ax: null, bad: null, loc: null, new: null },
    ],
    ['a series with warnings still counts', [series('ax'), series('cor', { plane: 'coronal', qcStatus: 'warning' })], { ax: MR_HEAD, cor: MR_HEAD }],
    [
      'a coronal series that failed a re-check unlinks the axial one',
      [series('ax', { viewGroup: MR_HEAD }), series('cor', { plane: 'coronal', qcStatus: 'failed', viewGroup: MR_HEAD })],
      { ax: null, cor: null },
    ],
    [
      'projection views keep their group; other modalities are not decided here',
      [series('ax'), series('cor', { plane: 'coronal' }), series('mr-view', { viewGroup: `${STUDY}:BREAST`, plane: 'coronal' }), series('mg', { modality: 'MG', plane: null, viewGroup: `${STUDY}:BREAST` })],
      { ax: MR_HEAD, cor: MR_HEAD },
    ],
  ])('%s', (_name, study, expected) => {
    expect(Object.fromEntries(multiPlaneViewGroups(STUDY, study))).toEqual(expected);
  });

  test('series arriving one after another: the group forms when the second plane arrives, and the later ones join it', () => {
    const arrived: SeriesForViewGroups[] = [];
    const arrive = (s: SeriesForViewGroups) => {
      arrived.push(s);
      const groups = multiPlaneViewGroups(STUDY, arrived);
      for (const a of arrived) if (groups.has(a.id)) a.viewGroup = groups.get(a.id)!;
      return Object.fromEntries(arrived.map((a) => [a.id, a.viewGroup]));
    };
    expect(arrive(series('t1'))).toEqual({ t1: null });
    expect(arrive(series('t2'))).toEqual({ t1: null, t2: null });
    expect(arrive(series('cor', { plane: 'coronal' }))).toEqual({ t1: MR_HEAD, t2: MR_HEAD, cor: MR_HEAD });
    expect(arrive(series('flair'))).toEqual({ t1: MR_HEAD, t2: MR_HEAD, cor: MR_HEAD, flair: MR_HEAD });
  });

  test('plane groups cannot be taken for a projection group of the same study', () => {
    expect(multiPlaneViewGroup(STUDY, 'MR', 'BREAST')).not.toBe(projectionViewGroup(STUDY, 'L-CC', { modality: 'MR', bodyPart: 'BREAST' }));
  });
});

describe('projectionViewGroup', () => {
  test.each([
    ['a view and a body part', 'L-CC', { modality: 'MG', bodyPart: 'BREAST' }, `${STUDY}:BREAST`],
    ['a view without body part: by modality', 'R-MLO', { modality: 'MG', bodyPart: null }, `${STUDY}:MG`],
    ['no view', null, { modality: 'MG', bodyPart: 'BREAST' }, null],
  ])('%s', (_name, view, s, expected) => {
    expect(projectionViewGroup(STUDY, view, s)).toBe(expected);
  });
});
