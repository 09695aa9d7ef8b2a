import { isPrivateCreator, resolveAmbiguousVrs, resolvePrivateCreators } from './ambiguous-vr';

type Ds = Record<string, { vr: string; Value?: unknown[] }>;

describe('resolveAmbiguousVrs', () => {
  it.each<[string, Ds, Ds]>([
    ['signed pixels: padding read as US becomes SS with its signed value', { '00280103': { vr: 'US', Value: [1] }, '00280120': { vr: 'US', Value: [63536] } }, { '00280103': { vr: 'US', Value: [1] }, '00280120': { vr: 'SS', Value: [-2000] } }],
    ['signed pixels: a positive value stays', { '00280103': { vr: 'US', Value: [1] }, '00280107': { vr: 'US', Value: [4095] } }, { '00280103': { vr: 'US', Value: [1] }, '00280107': { vr: 'SS', Value: [4095] } }],
    ['signed pixels: 32768 is the most negative', { '00280103': { vr: 'US', Value: [1] }, '00280106': { vr: 'US', Value: [32768] } }, { '00280103': { vr: 'US', Value: [1] }, '00280106': { vr: 'SS', Value: [-32768] } }],
    ['unsigned pixels: US stays US', { '00280103': { vr: 'US', Value: [0] }, '00280120': { vr: 'US', Value: [63536] } }, { '00280103': { vr: 'US', Value: [0] }, '00280120': { vr: 'US', Value: [63536] } }],
    ['unsigned pixels: an SS read back as US', { '00280103': { vr: 'US', Value: [0] }, '00280120': { vr: 'SS', Value: [-1] } }, { '00280103': { vr: 'US', Value: [0] }, '00280120': { vr: 'US', Value: [65535] } }],
    ['no Pixel Representation: unsigned', { '00280120': { vr: 'US', Value: [63536] } }, { '00280120': { vr: 'US', Value: [63536] } }],
    ['other attributes are left alone', { '00280103': { vr: 'US', Value: [1] }, '00280100': { vr: 'US', Value: [40000] }, '00283002': { vr: 'US', Value: [40000, 0, 16] } }, { '00280103': { vr: 'US', Value: [1] }, '00280100': { vr: 'US', Value: [40000] }, '00283002': { vr: 'US', Value: [40000, 0, 16] } }],
    ['an empty value stays empty', { '00280103': { vr: 'US', Value: [1] }, '00280120': { vr: 'US', Value: [] } }, { '00280103': { vr: 'US', Value: [1] }, '00280120': { vr: 'SS', Value: [] } }],
    ['an attribute of another VR (UN) is left alone', { '00280103': { vr: 'US', Value: [1] }, '00280120': { vr: 'UN', Value: [] } }, { '00280103': { vr: 'US', Value: [1] }, '00280120': { vr: 'UN', Value: [] } }],
  ])('%s', (_name, input, expected) => {
    resolveAmbiguousVrs(input);
    expect(input).toEqual(expected);
  });

  it('items of a sequence follow their own Pixel Representation, else their parent\'s', () => {
    const ds: Ds = {
      '00280103': { vr: 'US', Value: [1] },
      '00880200': { vr: 'SQ', Value: [{ '00280103': { vr: 'US', Value: [0] }, '00280120': { vr: 'US', Value: [65535] } }, { '00280120': { vr: 'US', Value: [65535] } }] },
    };
    resolveAmbiguousVrs(ds);
    const items = ds['00880200'].Value as Ds[];
    expect(items[0]['00280120']).toEqual({ vr: 'US', Value: [65535] });
    expect(items[1]['00280120']).toEqual({ vr: 'SS', Value: [-1] });
  });
});

describe('resolvePrivateCreators', () => {
  const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1')).buffer;
  it.each<[string, Ds, Ds]>([
    ['a creator read as OW bytes is LO text', { '7FDD0010': { vr: 'OW', Value: [bytes('TSC Private Group ')] } }, { '7FDD0010': { vr: 'LO', Value: ['TSC Private Group'] } }],
    ['trailing NUL padding is dropped', { '00290010': { vr: 'UN', Value: [bytes('SIEMENS CSA HEADER\0')] } }, { '00290010': { vr: 'LO', Value: ['SIEMENS CSA HEADER'] } }],
    ['an LO creator stays', { '00290010': { vr: 'LO', Value: ['SIEMENS'] } }, { '00290010': { vr: 'LO', Value: ['SIEMENS'] } }],
    ['a private element that is not a creator stays', { '00291010': { vr: 'OB', Value: [bytes('ab')] } }, { '00291010': { vr: 'OB', Value: [bytes('ab')] } }],
    ['an even group is not private', { '00280010': { vr: 'US', Value: [512] } }, { '00280010': { vr: 'US', Value: [512] } }],
    ['an empty creator', { '00090010': { vr: 'UN', Value: [bytes('')] } }, { '00090010': { vr: 'LO', Value: [] } }],
  ])('%s', (_name, input, expected) => {
    resolvePrivateCreators(input);
    expect(input).toEqual(expected);
  });
});

describe('isPrivateCreator', () => {
  it.each([
    ['00090010', true],
    ['7FDF00FF', true],
    ['00090100', false],
    ['0009000F', false],
    ['00080010', false],
  ])('%s: %s', (tag, expected) => {
    expect(isPrivateCreator(tag)).toBe(expected);
  });
});
