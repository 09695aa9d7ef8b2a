import { datasetCase } from '../test/synthetic-cases';
import { ageBand, caseAttributeValue, fieldStrengthGroup, parseDicomAge, sliceThicknessBand, type DatasetAttribute, type DatasetCaseAttributes } from './dataset-case';

describe('parseDicomAge', () => {
  it.each<[string | null | undefined, number | null]>([
    ['045Y', 45],
    ['006M', 0.5],
    ['010W', 70 / 365.25],
    ['003D', 3 / 365.25],
    ['000D', 0],
    ['120Y', 120],
    [' 045Y ', 45], // padded by a careless writer
    ['45Y', 45], // too short for the standard, common in real files
    ['018m', 1.5],
    ['065Y\0', 65],
    ['', null],
    ['    ', null],
    [null, null],
    [undefined, null],
  ])('%p → %p years', (value, years) => {
    const parsed = parseDicomAge(value);
    if (years === null) expect(parsed).toBeNull();
    else expect(parsed).toBeCloseTo(years, 12);
  });

  it.each(['45', 'Y', '045X', '1234Y', '-45Y', '04.5Y', '045 Y', 'forty'])('rejects %p, naming it', (value) => {
    expect(() => parseDicomAge(value)).toThrow(`"${value}" is not a DICOM age string`);
  });
});

describe('ageBand', () => {
  it.each<[number | null, string | null]>([
    [0, '0-17'],
    [17.99, '0-17'],
    [18, '18-39'],
    [39.5, '18-39'],
    [40, '40-64'],
    [64.9, '40-64'],
    [65, '65+'],
    [104, '65+'],
    [0.5, '0-17'],
    [null, null],
    [-1, null],
    [Number.NaN, null],
  ])('default bands: %p → %p', (age, band) => {
    expect(ageBand(age)).toBe(band);
  });

  it.each<[number, string | null]>([
    [0.2, '0-1'],
    [2, '2-11'],
    [17, '12-17'],
    [18, null], // outside closed bands: counted as unknown
  ])('paediatric bands [0, 2, 12, 18]: %p → %p', (age, band) => {
    expect(ageBand(age, [0, 2, 12, 18])).toBe(band);
  });

  it.each<[number[], string]>([
    [[0, 18, 18, Infinity], 'must increase'],
    [[0, 17.5, Infinity], 'whole years'],
    [[0], 'at least two edges'],
    [[-5, 18], '>= 0'],
    [[0, Infinity, 200], 'only the last may be Infinity'],
  ])('rejects edges %p', (edges, message) => {
    expect(() => ageBand(30, edges)).toThrow(message);
  });
});

describe('sliceThicknessBand and fieldStrengthGroup', () => {
  it.each<[number | null, string | null]>([
    [0.625, '0-1.5 mm'],
    [1.5, '1.5-3 mm'],
    [2.5, '1.5-3 mm'],
    [3, '3-5 mm'],
    [5, '5+ mm'],
    [10, '5+ mm'],
    [null, null],
  ])('slice thickness %p → %p', (mm, band) => {
    expect(sliceThicknessBand(mm)).toBe(band);
  });

  it.each<[number | null, string | null]>([
    [2.89362, '3T'], // Siemens "3 T"
    [3, '3T'],
    [1.494, '1.5T'],
    [1.5, '1.5T'],
    [7, '7T'],
    [0, null],
    [null, null],
  ])('field strength %p → %p', (tesla, group) => {
    expect(fieldStrengthGroup(tesla)).toBe(group);
  });
});

describe('caseAttributeValue', () => {
  const full: DatasetCaseAttributes = {
    sex: 'F',
    age: 52,
    site: '  Hospital A ',
    manufacturer: 'SIEMENS',
    model: 'Skyra',
    fieldStrength: 2.89362,
    kvp: 119.6,
    sliceThickness: 0.9,
    modality: 'MR',
  };
  const known = datasetCase('c1', 'p1', full, { liver: 10, tumour: 3, cyst: 0 });
  const bare = datasetCase('c2', 'p2', { sex: null, site: '' }, {});

  it.each<[DatasetAttribute, string, string]>([
    ['sex', 'F', 'unknown'],
    ['ageBand', '40-64', 'unknown'],
    ['site', 'Hospital A', 'unknown'],
    ['manufacturer', 'SIEMENS', 'unknown'],
    ['model', 'Skyra', 'unknown'],
    ['modality', 'MR', 'unknown'],
    ['fieldStrength', '3T', 'unknown'],
    ['kvp', '120 kV', 'unknown'],
    ['sliceThickness', '0-1.5 mm', 'unknown'],
    ['labelPresence', 'liver+tumour', 'none'],
  ])('%s: %p when recorded, %p when not', (attribute, value, missing) => {
    expect(caseAttributeValue(known, attribute)).toBe(value);
    expect(caseAttributeValue(bare, attribute)).toBe(missing);
  });

  it('prefers a given age band, and uses configured bands otherwise', () => {
    expect(caseAttributeValue(datasetCase('c', 'p', { age: 52, ageBand: 'adult' }), 'ageBand')).toBe('adult');
    expect(caseAttributeValue(known, 'ageBand', { ageBands: [0, 50, Infinity] })).toBe('50+');
    expect(caseAttributeValue(known, 'sliceThickness', { sliceThicknessBands: [0, 0.5, 1, Infinity] })).toBe('0.5-1 mm');
  });

  it('names an unknown attribute', () => {
    expect(() => caseAttributeValue(known, 'race' as DatasetAttribute)).toThrow('Unknown dataset attribute "race"');
  });
});
