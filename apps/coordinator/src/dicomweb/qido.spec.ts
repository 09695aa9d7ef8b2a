import { qidoFilter } from './qido';

describe('qidoFilter', () => {
  it.each([
    [{ PatientID: 'CTR-1' }, ['pa.pseudonym = $1'], ['CTR-1']],
    [{ '00100020': 'CTR-1' }, ['pa.pseudonym = $1'], ['CTR-1']],
    [{ PatientName: 'CTR*' }, ['pa.pseudonym ILIKE $1'], ['CTR%']],
    [{ StudyDescription: 'a_b?' }, ['st.description ILIKE $1'], ['a\\_b_']],
    [{ StudyInstanceUID: '1.2,1.3' }, ['st.study_instance_uid = ANY($1)'], [['1.2', '1.3']]],
    [{ StudyDate: '20200101' }, ['st.study_date = $1'], ['20200101']],
    [{ StudyDate: '20200101-' }, ['st.study_date >= $1'], ['20200101']],
    [{ StudyDate: '-20201231' }, ['st.study_date <= $1'], ['20201231']],
    [{ StudyDate: '20200101-20201231' }, ['st.study_date >= $1', 'st.study_date <= $2'], ['20200101', '20201231']],
    [{ ModalitiesInStudy: 'ct,mr' }, ['se.modality = ANY($1)'], [['CT', 'MR']]],
    [{ limit: '10', includefield: 'all' }, [], []],
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
  ])('rejects %j', (query, message) => {
    expect(() => qidoFilter(query as Record<string, string>, {})).toThrow(message);
  });

  it('applies path parameters and caps the limit', () => {
    const f = qidoFilter({ limit: '999999' }, { StudyInstanceUID: '1.2.3' });
    expect(f.where).toEqual(['st.study_instance_uid = ANY($1)']);
    expect(f.limit).toBe(5000);
  });
});
