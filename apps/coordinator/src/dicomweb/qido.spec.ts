import { includeFieldsOf, qidoFilter, qidoJson } from './qido';

describe('qidoFilter', () => {
  it.each([
    [{ PatientID: 'CTR-1' }, ['pa.pseudonym = $1'], ['CTR-1']],
    [{ '00100020': 'CTR-1' }, ['pa.pseudonym = $1'], ['CTR-1']],
    [{ PatientName: 'CTR*' }, ['pa.pseudonym ILIKE $1'], ['CTR%']],
    // An exact name in any case, as the wildcard match (it was case-sensitive: "ctr-23sxobgydj" found nothing).
    [{ PatientName: 'ctr-1_x' }, ['pa.pseudonym ILIKE $1'], ['ctr-1\\_x']],
    [{ StudyDescription: 'a_b?' }, ['st.description ILIKE $1'], ['a\\_b_']],
    [{ StudyInstanceUID: '1.2,1.3' }, ['st.study_instance_uid = ANY($1)'], [['1.2', '1.3']]],
    [{ StudyDate: '20200101' }, ['st.study_date = $1'], ['20200101']],
    [{ StudyDate: '20200101-' }, ['st.study_date >= $1'], ['20200101']],
    [{ StudyDate: '-20201231' }, ['st.study_date <= $1'], ['20201231']],
    [{ StudyDate: '20200101-20201231' }, ['st.study_date >= $1', 'st.study_date <= $2'], ['20200101', '20201231']],
    [{ StudyDate: '20240229', fuzzymatching: 'false' }, ['st.study_date = $1'], ['20240229']],
    [{ SeriesNumber: '2147483647' }, ['se.series_number = $1'], [2147483647]],
    [{ ModalitiesInStudy: 'ct,mr' }, ['se.modality = ANY($1)'], [['CT', 'MR']]],
    [{ limit: '10', includefield: 'all' }, [], []],
    // Keys de-identification empties: only a universal match finds anything (they were a 400).
    [{ AccessionNumber: 'A123' }, ['false'], []],
    [{ AccessionNumber: '*' }, [], []],
    [{ '00080090': 'Smith*' }, ['false'], []],
    [{ StudyID: '**', PatientID: 'CTR-1' }, ['pa.pseudonym = $1'], ['CTR-1']],
  ])('%j', (query, where, params) => {
    const f = qidoFilter(query, {});
    expect(f.where).toEqual(where);
    expect(f.params).toEqual(params);
  });

  it.each([
    [{ PatientWeight: '70' }, /cannot match on "PatientWeight"/],
    [{ StudyDate: '2020' }, /StudyDate must be YYYYMMDD/],
    [{ StudyInstanceUID: 'abc' }, /must be UIDs/],
    [{ limit: '-1' }, /limit and offset/],
    [{ InstanceNumber: 'x' }, /whole number/],
    [{ SeriesNumber: '2147483648' }, /whole number from 0 to 2147483647/],
    [{ StudyDate: '99999999' }, /99999999, which is not a date/],
    [{ StudyDate: '20201340' }, /20201340, which is not a date/],
    [{ StudyDate: '20200101-20210230' }, /20210230, which is not a date/],
    [{ fuzzymatching: 'maybe' }, /fuzzymatching is true or false/],
  ])('rejects %j', (query, message) => {
    expect(() => qidoFilter(query as Record<string, string>, {})).toThrow(message);
  });

  it('applies path parameters and caps the limit', () => {
    const f = qidoFilter({ limit: '999999' }, { StudyInstanceUID: '1.2.3' });
    expect(f.where).toEqual(['st.study_instance_uid = ANY($1)']);
    expect(f.limit).toBe(5000);
  });
});

describe('includefield', () => {
  const study = { study_instance_uid: '2.25.1', study_date: '20200101', study_description: 'CT chest', pseudonym: 'CTR-1', sex: 'F', age: '061Y', modalities: ['CT'], sop_classes: ['1.2.840.10008.5.1.4.1.1.2'], series_count: '1', instance_count: '3' };
  const series = { ...study, series_instance_uid: '2.25.2', modality: 'CT', series_description: 'axial', body_part: 'CHEST', series_number: 2, frame_of_reference_uid: '2.25.9', series_instance_count: '3' };
  const instance = { ...series, sop_instance_uid: '2.25.3', sop_class_uid: '1.2.840.10008.5.1.4.1.1.2', transfer_syntax_uid: '1.2.840.10008.1.2.1', instance_number: 1, number_of_frames: 1, rows: 512, columns: 512, image_position: [-250, -250, 10.5], image_orientation: [1, 0, 0, 0, 1, 0], pixel_spacing: [0.7, 0.7] };

  it.each([
    [{}, false, []],
    [{ includefield: 'all' }, true, []],
    [{ includefield: 'PatientAge' }, false, ['00101010']],
    [{ includefield: ['PatientAge', '00200052,PixelSpacing'] }, false, ['00101010', '00200052', '00280030']],
    [{ includefield: '0020000d, ImagePositionPatient' }, false, ['0020000D', '00200032']],
    [{ includefield: 'ReferencedSeriesSequence.SeriesInstanceUID' }, false, []],
  ])('reads %j', (query, all, tags) => {
    const f = includeFieldsOf(query);
    expect(f.all).toBe(all);
    expect([...f.tags].sort()).toEqual(tags);
  });

  it.each([
    [{ includefield: 'PatientWeigth' }, /includefield "PatientWeigth" is neither a DICOM keyword nor a tag/],
    [{ includefield: 'StudyDate,0010' }, /includefield "0010" is neither/],
    [{ includefield: 'ReferencedSeriesSequence.Nope' }, /includefield "ReferencedSeriesSequence.Nope" is neither/],
  ])('rejects %j', (query, message) => {
    expect(() => includeFieldsOf(query)).toThrow(message);
  });

  it('answers the default attributes of each level, unchanged without includefield', () => {
    const none = includeFieldsOf({});
    expect(Object.keys(qidoJson('study', study, 'u', none))).toEqual(['00080020', '00080050', '00080061', '00080090', '00081030', '00081190', '00100010', '00100020', '00100040', '0020000D', '00200010', '00201206', '00201208']);
    expect(Object.keys(qidoJson('series', series, 'u', none))).toEqual(['00080060', '0008103E', '00081190', '00180015', '0020000D', '0020000E', '00200011', '00201209']);
    expect(Object.keys(qidoJson('instance', instance, 'u', none))).toEqual(['00080016', '00080018', '00080060', '00081190', '00083002', '0020000D', '0020000E', '00200013', '00280008', '00280010', '00280011']);
    expect(qidoJson('study', study, 'u', none)['00201208']).toEqual({ vr: 'IS', Value: [3] });
  });

  it('adds the attributes asked for that the index keeps; others are absent', () => {
    const json = qidoJson('series', series, 'u', includeFieldsOf({ includefield: 'FrameOfReferenceUID,PatientAge,StudyDate,PatientBirthDate,00091001' }));
    expect(json['00200052']).toEqual({ vr: 'UI', Value: ['2.25.9'] });
    expect(json['00101010']).toEqual({ vr: 'AS', Value: ['061Y'] });
    expect(json['00080020']).toEqual({ vr: 'DA', Value: ['20200101'] });
    expect(json['00100030']).toBeUndefined();
    expect(json['00091001']).toBeUndefined();
    // Instance-level attributes are not series attributes.
    expect(qidoJson('series', series, 'u', includeFieldsOf({ includefield: 'ImagePositionPatient' }))['00200032']).toBeUndefined();
  });

  it('includefield=all answers every attribute the index keeps at that level', () => {
    const all = includeFieldsOf({ includefield: 'all' });
    const json = qidoJson('instance', instance, 'u', all);
    expect(json['00200032']).toEqual({ vr: 'DS', Value: [-250, -250, 10.5] });
    expect(json['00200037']).toEqual({ vr: 'DS', Value: [1, 0, 0, 0, 1, 0] });
    expect(json['00280030']).toEqual({ vr: 'DS', Value: [0.7, 0.7] });
    expect(json['00200052']).toEqual({ vr: 'UI', Value: ['2.25.9'] });
    expect(json['0008103E']).toEqual({ vr: 'LO', Value: ['axial'] });
    expect(json['00101010']).toEqual({ vr: 'AS', Value: ['061Y'] });
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    const studyAll = qidoJson('study', study, 'u', all);
    expect(studyAll['00080062']).toEqual({ vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] });
    expect(studyAll['00101010']).toEqual({ vr: 'AS', Value: ['061Y'] });
    expect(studyAll['00200052']).toBeUndefined();
  });
});
