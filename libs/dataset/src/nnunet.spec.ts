import {
  applyLabelRemap,
  assertNnunetLabels,
  nnunetCaseFiles,
  nnunetCaseName,
  nnunetDatasetJson,
  nnunetImageFileName,
  nnunetLabelFileName,
  nnunetLabelsFromProtocol,
  nnunetSplitsFinal,
  remapLabelsConsecutive,
  type NnunetDatasetJsonInput,
} from './nnunet';

describe('nnunetDatasetJson', () => {
  const input: NnunetDatasetJsonInput = {
    name: 'LiverCT',
    description: 'Liver and tumour, portal venous CT',
    channelNames: { 0: 'CT' },
    labels: { tumour: 2, background: 0, liver: 1 },
    numTraining: 120,
    licence: 'CC-BY-4.0',
    reference: 'Contour export E-17',
  };

  it("writes nnU-Net v2's keys, labels ordered by value, optional fields only when given", () => {
    const json = nnunetDatasetJson(input);
    expect(json).toEqual({
      channel_names: { '0': 'CT' },
      labels: { background: 0, liver: 1, tumour: 2 },
      numTraining: 120,
      file_ending: '.nii.gz',
      name: 'LiverCT',
      description: 'Liver and tumour, portal venous CT',
      reference: 'Contour export E-17',
      licence: 'CC-BY-4.0',
    });
    expect(Object.keys(json).slice(0, 4)).toEqual(['channel_names', 'labels', 'numTraining', 'file_ending']);
    expect(Object.keys(json.labels)).toEqual(['background', 'liver', 'tumour']);
  });

  it('keeps multi-channel names and a reader/writer override', () => {
    const json = nnunetDatasetJson({ ...input, channelNames: { 1: 'ADC', 0: 'T2' }, fileEnding: '.mha', overwriteImageReaderWriter: 'SimpleITKIO' });
    expect(json.channel_names).toEqual({ '0': 'T2', '1': 'ADC' });
    expect(json.file_ending).toBe('.mha');
    expect(json.overwrite_image_reader_writer).toBe('SimpleITKIO');
  });

  it.each<[string, Record<string, number>, string]>([
    ['a gap', { background: 0, liver: 1, tumour: 3 }, 'consecutive label values 0..3 without gaps, but 2 is missing'],
    ['several gaps', { background: 0, liver: 2, tumour: 5 }, 'but 1, 3, 4 are missing'],
    ['no background', { liver: 1, tumour: 2 }, 'needs a label "background" with value 0, got no "background" label'],
    ['background not 0', { background: 1, liver: 0 }, 'got background = 1'],
    ['a repeated value', { background: 0, liver: 1, organ: 1 }, 'label value 1 is used by "liver" and "organ"'],
    ['a fractional value', { background: 0, liver: 1.5 }, 'label "liver" has value 1.5'],
    ['a negative value', { background: 0, liver: -1 }, 'label "liver" has value -1'],
    ['only background', { background: 0 }, 'only background'],
    ['nothing', {}, 'labels are empty'],
  ])('rejects labels with %s', (_, labels, message) => {
    expect(() => nnunetDatasetJson({ ...input, labels })).toThrow(message);
    expect(() => assertNnunetLabels(labels)).toThrow(message);
  });

  it.each<[string, Partial<NnunetDatasetJsonInput>, string]>([
    ['no channel', { channelNames: {} }, 'at least one input channel'],
    ['a channel gap', { channelNames: { 0: 'T2', 2: 'ADC' } }, 'channel indices must be 0..1 without gaps'],
    ['an unnamed channel', { channelNames: { 0: ' ' } }, 'channel 0 has no name'],
    ['no training case', { numTraining: 0 }, 'numTraining must be a whole number >= 1'],
    ['a file ending without dot', { fileEnding: 'nii.gz' }, 'must start with a dot'],
  ])('rejects %s', (_, override, message) => {
    expect(() => nnunetDatasetJson({ ...input, ...override })).toThrow(message);
  });
});

describe('nnU-Net names', () => {
  it.each<[string, number, string]>([
    ['LIVER', 1, 'LIVER_0001'],
    ['LIVER', 0, 'LIVER_0000'],
    ['ctr-liver', 417, 'ctr-liver_0417'],
    ['A_B', 12345, 'A_B_12345'],
  ])('nnunetCaseName(%p, %p) = %p', (prefix, index, name) => {
    expect(nnunetCaseName(prefix, index)).toBe(name);
  });

  it.each<[string, number, string]>([
    ['a/b', 1, 'case prefix'],
    ['', 1, 'case prefix'],
    ['_x', 1, 'case prefix'],
    ['LIVER', -1, 'case index'],
    ['LIVER', 1.5, 'case index'],
  ])('rejects nnunetCaseName(%p, %p)', (prefix, index, message) => {
    expect(() => nnunetCaseName(prefix, index)).toThrow(message);
  });

  it('names image channels and labels', () => {
    expect(nnunetImageFileName('LIVER_0001', 0)).toBe('LIVER_0001_0000.nii.gz');
    expect(nnunetImageFileName('PROSTATE_0007', 1, '.mha')).toBe('PROSTATE_0007_0001.mha');
    expect(nnunetLabelFileName('LIVER_0001')).toBe('LIVER_0001.nii.gz');
    expect(nnunetCaseFiles('P_0003', 'train', 2)).toEqual({ images: ['imagesTr/P_0003_0000.nii.gz', 'imagesTr/P_0003_0001.nii.gz'], label: 'labelsTr/P_0003.nii.gz' });
    expect(nnunetCaseFiles('P_0004', 'validation', 1).label).toBe('labelsTr/P_0004.nii.gz');
    expect(nnunetCaseFiles('P_0005', 'test', 1)).toEqual({ images: ['imagesTs/P_0005_0000.nii.gz'], label: 'labelsTs/P_0005.nii.gz' });
  });
});

describe('nnunetSplitsFinal', () => {
  it('writes our patient-level train/validation split as fold 0, leaving test out', () => {
    expect(nnunetSplitsFinal({ L_0003: 'train', L_0001: 'train', L_0002: 'validation', L_0004: 'test' })).toEqual([{ train: ['L_0001', 'L_0003'], val: ['L_0002'] }]);
  });

  it('needs a validation case', () => {
    expect(() => nnunetSplitsFinal({ L_0001: 'train', L_0002: 'test' })).toThrow('at least one training and one validation case, got 1 and 0');
  });
});

describe('label remapping', () => {
  it('maps sparse protocol ids to consecutive values in id order', () => {
    const remap = remapLabelsConsecutive([9, 1, 4]);
    expect(remap.mapping).toEqual({ 0: 0, 1: 1, 4: 2, 9: 3 });
    expect(remap.pairs).toEqual([
      { protocolId: 0, datasetId: 0 },
      { protocolId: 1, datasetId: 1 },
      { protocolId: 4, datasetId: 2 },
      { protocolId: 9, datasetId: 3 },
    ]);
  });

  it.each<[number[], string]>([
    [[1, 1], 'listed twice'],
    [[1, -2], 'Protocol label id -2'],
    [[1.5], 'Protocol label id 1.5'],
  ])('rejects %p', (ids, message) => {
    expect(() => remapLabelsConsecutive(ids)).toThrow(message);
  });

  it('rewrites a label map and refuses ids outside the protocol', () => {
    const remap = remapLabelsConsecutive([1, 4, 9]);
    const out = applyLabelRemap(Uint8Array.from([0, 1, 4, 9, 4, 0]), remap);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(Array.from(out)).toEqual([0, 1, 2, 3, 2, 0]);
    expect(Array.from(applyLabelRemap(Uint16Array.from([300, 0]), remapLabelsConsecutive([300])))).toEqual([1, 0]);
    expect(() => applyLabelRemap(Uint8Array.from([0, 7]), remap)).toThrow('Voxel 1 has label id 7, which is not in the label remap (ids 0, 1, 4, 9)');
  });

  it('returns a byte label map whose ids already are the dataset values as it is (no copy)', () => {
    const input = Uint8Array.from([0, 1, 2, 2, 0, 1]);
    const out = applyLabelRemap(input, remapLabelsConsecutive([1, 2]));
    expect(out).toBe(input);
    expect(Array.from(out)).toEqual([0, 1, 2, 2, 0, 1]);
    // Ids the map does not use do not matter; one it uses but the remap lacks still names its first voxel.
    expect(Array.from(applyLabelRemap(Uint8Array.from([0, 4, 0]), remapLabelsConsecutive([1, 4])))).toEqual([0, 2, 0]);
    expect(() => applyLabelRemap(Uint8Array.from([0, 0, 3, 3]), remapLabelsConsecutive([1, 2]))).toThrow('Voxel 2 has label id 3');
  });

  it('builds nnU-Net labels from named protocol labels', () => {
    const { labels, remap } = nnunetLabelsFromProtocol([{ id: 12, name: 'tumour' }, { id: 3, name: 'liver' }]);
    expect(labels).toEqual({ background: 0, liver: 1, tumour: 2 });
    expect(remap.mapping).toEqual({ 0: 0, 3: 1, 12: 2 });
    expect(() => nnunetLabelsFromProtocol([{ id: 1, name: 'background' }])).toThrow('reserves for value 0');
    expect(() => nnunetLabelsFromProtocol([{ id: 1, name: 'a' }, { id: 2, name: 'a' }])).toThrow('"a" is used twice');
  });
});
