// De-identifies every real test file (series, modalities, segmentations, transfer syntaxes) with the default
// options and with every option on, writes the results, and has an independent reader (pydicom, from Debian's
// python) check each output against its original: pseudonym in place, nothing the profile removes or replaces
// still holding an original value, no private element outside the safe list, every instance UID replaced by a
// valid new one, identity-removed record present, pixel data bytes unchanged.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DicomRejection, readDicom } from '@contour/dicom';
import { deidentify } from './deidentify';
import { DEFAULT_DEID_OPTIONS, type DeidOptions } from './options';
import { SAFE_PRIVATE_ELEMENTS } from './private-tags';
import { CONTOUR_ADDITIONAL_ROWS, PROFILE_TABLE } from './profile-table';

const DATA = process.env.CONTOUR_TEST_DATA ?? path.resolve(__dirname, '../../../../shared/data');
const DICOM = path.join(DATA, 'dicom');
const FOLDERS = ['series', 'modalities', 'segmentations', 'transfer-syntaxes'];
const PYTHON = '/usr/bin/python3';
const SECRET = 'real-files-test-secret-0123456789';
const ALL_ON: DeidOptions = { retainLongitudinalTemporal: true, retainPatientCharacteristics: true, retainDeviceIdentity: true, cleanDescriptors: true, keepSafePrivateTags: true };
const DEFLATED = '1.2.840.10008.1.2.1.99';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

function dicomFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = path.join(dir, name);
      return statSync(p).isDirectory() ? dicomFiles(p) : name.endsWith('.dcm') ? [p] : [];
    });
}

// The independent check. It knows the profile only through the table exported as JSON; everything else
// (what "still holds an original value" means, UID validity, pixel bytes) it decides on its own.
const CHECKER = String.raw`
import json, re, sys
import pydicom
from pydicom.encaps import generate_pixel_data_fragment, generate_pixel_data_frame, get_frame_offsets
from pydicom.filebase import DicomBytesIO
from pydicom.tag import Tag

def fragments(data):
    fp = DicomBytesIO(data)
    fp.is_little_endian = True
    has_offset_table, _ = get_frame_offsets(fp)
    return list(generate_pixel_data_fragment(fp)), has_offset_table

cfg = json.load(open(sys.argv[1]))
table = cfg['table']
safe = {(s['creator'], s['group'], s['offset']) for s in cfg['safe']}
REMOVING = {'X', 'Z', 'D', 'X/Z', 'X/D', 'Z/D', 'X/Z/D'}
DUMMIES = {'ANONYMIZED', '19000101', '19000101000000', '000000', '000Y', '0', '0.0', 'http://anonymized.invalid/', bytes(2), bytes(4), bytes(8)}
UID_RE = re.compile(r'^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$')
TEXT_VRS = {'AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT'}
OPTION_KEYS = ('retainLongitudinalTemporal', 'retainPatientCharacteristics', 'retainDeviceIdentity', 'cleanDescriptors')

def row_for(tag):
    t = '%08X' % int(tag)
    if t in table: return table[t]
    g = int(tag) >> 16
    if (g & 0xFF01) == 0x5000: return table.get('50XXXXXX')
    if (g & 0xFF01) == 0x6000: return table.get('60XX' + t[4:])
    return None

BINARY_VRS = {'OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN', 'OB or OW', 'US or OW', 'US or SS or OW'}

def vals(e):
    if int(e.tag) >> 16 == 0x7FE0: return []  # pixel data: compared separately, byte for byte
    v = e.value
    if v is None: return []
    if e.VR in BINARY_VRS: return [bytes(v)] if len(v) else []
    items = list(v) if isinstance(v, (list, pydicom.multival.MultiValue)) else [v]
    return [s for s in (str(x).strip() for x in items) if s != '']

def walk(ds):
    for e in ds:
        yield ds, e
        if e.VR == 'SQ':
            for item in e.value:
                yield from walk(item)

def by_tag(ds):
    out = {}
    for _, e in walk(ds):
        if e.VR != 'SQ': out.setdefault(int(e.tag), set()).update(vals(e))
    return out

failures = []
checked = 0
originals = {}
for case in cfg['cases']:
    name, opts = case['name'], case['options']
    def fail(msg):
        failures.append('%s: %s' % (name, msg))
    if case['original'] not in originals:
        o = pydicom.dcmread(case['original'])
        originals.clear()  # cases of one original are consecutive
        originals[case['original']] = (o, by_tag(o))
    orig, original_values = originals[case['original']]
    out = pydicom.dcmread(case['output'])  # no force: must be a proper Part 10 file
    checked += 1
    p = case['pseudonym']
    if str(out.get('PatientName', '')) != p: fail('PatientName is %r, not the pseudonym' % str(out.get('PatientName')))
    if str(out.get('PatientID', '')) != p: fail('PatientID is %r, not the pseudonym' % out.get('PatientID'))
    if out.get('PatientIdentityRemoved') != 'YES': fail('PatientIdentityRemoved is not YES')
    codes = [i.CodeValue for i in out.get('DeidentificationMethodCodeSequence', [])]
    if '113100' not in codes: fail('no 113100 in DeidentificationMethodCodeSequence')
    if out.get('LongitudinalTemporalInformationModified') != ('MODIFIED' if opts['retainLongitudinalTemporal'] else 'REMOVED'):
        fail('LongitudinalTemporalInformationModified is %r' % out.get('LongitudinalTemporalInformationModified'))

    original_uids = set()
    for _, e in walk(orig):
        if e.VR == 'UI' and not e.tag.is_private:
            row = row_for(e.tag)
            if row and row['basic'] in ('U', 'D', 'X/Z/U*'):
                original_uids.update(v for v in vals(e) if not v.startswith('1.2.840.10008.'))
    for ds, e in walk(out):
        tag = e.tag
        if tag.is_private:
            element = tag.element
            if 0x10 <= element <= 0xFF:
                if not any(o.tag.group == tag.group and (o.tag.element >> 8) == element for o in ds if o.tag.is_private and o.tag.element > 0xFF):
                    fail('private creator %s kept without any element of its block' % tag)
            else:
                creator_el = ds.get(Tag(tag.group, element >> 8))
                creator = str(creator_el.value).strip() if creator_el is not None else None
                if (creator, tag.group, element & 0xFF) not in safe:
                    fail('private element %s (%s) is not on the safe list' % (tag, creator))
            continue
        if e.VR == 'SQ': continue
        row = row_for(tag)
        out_vals = vals(e)
        if e.VR == 'UI':
            for v in out_vals:
                if v.startswith('1.2.840.10008.'): continue
                if row and row['basic'] in ('U', 'D', 'X/Z/U*') and not (opts['retainDeviceIdentity'] and row['options'].get('retainDeviceIdentity')):
                    if v in original_uids: fail('%s %s still holds an original UID' % (tag, e.keyword))
                    if len(v) > 64 or not UID_RE.match(v): fail('%s %s is not a valid UID: %r' % (tag, e.keyword, v))
                elif v not in original_values.get(int(tag), set()):
                    fail('%s %s: a UID the profile keeps was changed' % (tag, e.keyword))
            continue
        if not row or row['basic'] not in REMOVING or int(tag) in (0x00100010, 0x00100020): continue
        overriding = [k for k in OPTION_KEYS if opts[k] and row['options'].get(k)]
        if overriding:
            if overriding == ['retainLongitudinalTemporal'] and e.VR in ('DA', 'DT'):
                for v in out_vals:
                    if v in original_values.get(int(tag), set()): fail('%s %s was not shifted' % (tag, e.keyword))
            continue
        for v in out_vals:
            if v in DUMMIES: continue
            if v in original_values.get(int(tag), set()):
                fail('%s %s (profile %s) still holds an original value' % (tag, e.keyword, row['basic']))

    # No instance UID of the original may survive anywhere, File Meta included.
    out_uids = {v for _, e in walk(out) if e.VR == 'UI' for v in vals(e)} | {str(out.file_meta.MediaStorageSOPInstanceUID)}
    leaked = out_uids & original_uids
    if leaked: fail('original UIDs survive: %s' % sorted(leaked)[:3])
    if out.file_meta.MediaStorageSOPInstanceUID != out.SOPInstanceUID: fail('File Meta SOP Instance UID differs from the dataset')
    if out.SOPInstanceUID == orig.SOPInstanceUID: fail('SOP Instance UID unchanged')

    # The identifying strings of the original appear nowhere in the text of the output.
    needles = []
    # (Institution Name is checked by its table row only: "TOSHIBA" as institution is also in "TOSHIBA_MEC" as
    # manufacturer, which is not identifying.)
    for kw in ('PatientName', 'PatientID', 'OtherPatientIDs', 'AccessionNumber', 'PatientBirthDate', 'ReferringPhysicianName', 'OperatorsName'):
        s = str(orig.get(kw, '') or '').strip()
        if len(s) >= 4 and s not in DUMMIES: needles.append(s.lower())
    for _, e in walk(out):
        if e.tag.is_private or e.VR not in TEXT_VRS or int(e.tag) in (0x00100010, 0x00100020): continue
        for v in vals(e):
            for n in needles:
                if n in v.lower(): fail('%s %s contains an identifying value of the original' % (e.tag, e.keyword))

    for kw in ('PixelData', 'FloatPixelData', 'DoubleFloatPixelData'):
        if kw not in orig: continue
        if kw not in out:
            fail('%s missing' % kw)
            continue
        a, b = orig[kw].value, out[kw].value
        if kw != 'PixelData' or not orig.file_meta.TransferSyntaxUID.is_compressed:
            # Native: the same bytes; a writer may add the one padding byte an odd length needs.
            if b[:len(a)] != a or len(b) - len(a) not in (0, 1): fail('%s bytes changed' % kw)
            continue
        # Encapsulated: the compressed bytestream (all fragment payloads, in order) must be unchanged; the Basic
        # Offset Table and fragment boundaries are the writer's framing. Where the original's frames can be
        # delimited (an offset table, or one fragment per frame) every frame must be identical too.
        (orig_frags, orig_has_bot), (out_frags, _) = fragments(a), fragments(b)
        if b''.join(orig_frags) != b''.join(out_frags):
            fail('encapsulated pixel data bytes changed')
        n = int(orig.get('NumberOfFrames', 1) or 1)
        if orig_has_bot or len(orig_frags) == n:
            fa = list(generate_pixel_data_frame(a, n))
            fb = list(generate_pixel_data_frame(b, n))
            if len(fa) != len(fb) or any(y[:len(x)] != x for x, y in zip(fa, fb)): fail('encapsulated frames changed')

print(json.dumps({'checked': checked, 'failures': failures}))
`;

const maybe = existsSync(DICOM) ? describe : describe.skip;

maybe('de-identification of the real test files, checked by pydicom', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'contour-deid-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('leaves no identifying value, private tag or original UID, and keeps pixel data intact', () => {
    const files = FOLDERS.flatMap((f) => (existsSync(path.join(DICOM, f)) ? dicomFiles(path.join(DICOM, f)) : []));
    const cases: { name: string; original: string; output: string; pseudonym: string; options: DeidOptions }[] = [];
    const rejected: string[] = [];
    files.forEach((file, i) => {
      let parsed;
      try {
        parsed = readDicom(readFileSync(file));
      } catch (e) {
        if (e instanceof DicomRejection) {
          rejected.push(file);
          return;
        }
        throw e;
      }
      // Every file with the default options; with all options on, every file except the later slices of a
      // series (same content as the first; mr-series.spec.ts checks all of them attribute by attribute).
      const laterSlice = file.includes(`${path.sep}series${path.sep}`) && files.indexOf(file) !== files.findIndex((f) => path.dirname(f) === path.dirname(file));
      const runs = laterSlice ? ([['default', DEFAULT_DEID_OPTIONS]] as const) : ([['default', DEFAULT_DEID_OPTIONS], ['all-options', ALL_ON]] as const);
      for (const [label, options] of runs) {
        const result = deidentify(parsed.dict, options, { secret: SECRET });
        // dcmjs reads deflated files but writes the dataset uncompressed under the deflated UID; declare what
        // it actually writes so the output is a valid file (a writer concern, not a de-identification one).
        if (result.dict.meta['00020010']?.Value?.[0] === DEFLATED) result.dict.meta['00020010'] = { vr: 'UI', Value: [EXPLICIT_LE] };
        const bytes = Buffer.from(result.dict.write());
        const output = path.join(work, `${i}-${label}.dcm`);
        writeFileSync(output, bytes);
        cases.push({ name: `${path.relative(DICOM, file)} [${label}]`, original: file, output, pseudonym: result.pseudonym, options });
      }
    });
    expect(files.length).toBeGreaterThanOrEqual(60);
    expect(rejected.length).toBeLessThan(files.length / 4);

    const table = Object.fromEntries([...PROFILE_TABLE, ...CONTOUR_ADDITIONAL_ROWS].map((r) => [r.tag, { basic: r.basic, options: r.options }]));
    const config = path.join(work, 'config.json');
    writeFileSync(config, JSON.stringify({ table, safe: SAFE_PRIVATE_ELEMENTS, cases }));
    const script = path.join(work, 'check.py');
    writeFileSync(script, CHECKER);
    const stdout = execFileSync(PYTHON, ['-W', 'ignore', script, config], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const { checked, failures } = JSON.parse(stdout.trim().split('\n').pop()!) as { checked: number; failures: string[] };
    expect(failures).toEqual([]);
    expect(checked).toBe(cases.length);
  });
});
