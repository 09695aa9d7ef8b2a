// Pure builders of the nnU-Net v2 raw dataset layout (which descends from the Medical Segmentation Decathlon):
// the dataset.json, case identifiers and file names, the mapping from protocol label ids to the consecutive
// label values nnU-Net insists on, and a splits_final.json carrying our patient-level split.
//
// Why splits_final.json matters: left alone, nnU-Net draws its own five folds at random over cases, which puts
// different series of one patient in train and validation. Writing our split there keeps it patient-level.
//
// Layout (nnU-Net v2 dataset_format.md):
//   DatasetXXX_Name/dataset.json
//   imagesTr/{CASE}_{CHANNEL:04d}{file_ending}   labelsTr/{CASE}{file_ending}
//   imagesTs/…                                   (test cases: not counted in numTraining)
import { SPLITS, type Split } from './patient-split';

export interface NnunetDatasetJsonInput {
  /** Dataset name (informational for nnU-Net; the folder name DatasetXXX_Name is what it uses). */
  name?: string;
  description?: string;
  reference?: string;
  release?: string;
  licence?: string;
  /** Input channels by index, e.g. { 0: 'CT' } or { 0: 'T2', 1: 'ADC' }; the name picks nnU-Net's normalisation. */
  channelNames: Readonly<Record<number | string, string>>;
  /** Label name → value; must be { background: 0, …: 1, …: 2, … } without gaps. */
  labels: Readonly<Record<string, number>>;
  /** Training cases (imagesTr/labelsTr); nnU-Net checks that exactly this many are there. */
  numTraining: number;
  /** Ending shared by images and labels. Default '.nii.gz'. */
  fileEnding?: string;
  /** Name of an nnU-Net reader/writer class (e.g. 'SimpleITKIO') when the default choice is not wanted. */
  overwriteImageReaderWriter?: string;
}

/** dataset.json as nnU-Net v2 reads it; key order follows nnU-Net's own generate_dataset_json. */
export interface NnunetDatasetJson {
  channel_names: Record<string, string>;
  labels: Record<string, number>;
  numTraining: number;
  file_ending: string;
  name?: string;
  description?: string;
  reference?: string;
  release?: string;
  licence?: string;
  overwrite_image_reader_writer?: string;
}

export const NNUNET_DEFAULT_FILE_ENDING = '.nii.gz';

function assertFileEnding(fileEnding: string): void {
  if (typeof fileEnding !== 'string' || !/^\.[A-Za-z0-9.]+$/.test(fileEnding)) {
    throw new RangeError(`nnU-Net file ending must start with a dot, like ".nii.gz", got "${String(fileEnding)}"`);
  }
}

/**
 * Throws unless the labels are what nnU-Net accepts: integer values 0, 1, …, K each used once, 0 named
 * 'background', and at least one foreground label. The message lists what is missing or repeated.
 */
export function assertNnunetLabels(labels: Readonly<Record<string, number>>): void {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) throw new RangeError('nnU-Net labels are empty; expected { background: 0, <name>: 1, … }');
  for (const [name, value] of entries) {
    if (name.trim() === '') throw new RangeError(`nnU-Net label value ${value} has an empty name`);
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`nnU-Net label "${name}" has value ${String(value)}; label values must be whole numbers >= 0`);
  }
  if (labels.background !== 0) {
    throw new RangeError(`nnU-Net needs a label "background" with value 0, got ${labels.background === undefined ? 'no "background" label' : `background = ${labels.background}`}`);
  }
  const byValue = new Map<number, string[]>();
  for (const [name, value] of entries) byValue.set(value, [...(byValue.get(value) ?? []), name]);
  for (const [value, names] of byValue) {
    if (names.length > 1) throw new RangeError(`nnU-Net label value ${value} is used by ${names.map((n) => `"${n}"`).join(' and ')}; each value must name one label`);
  }
  if (entries.length < 2) throw new RangeError('nnU-Net labels have only background; add at least one foreground label (value 1)');
  const max = Math.max(...byValue.keys());
  const missing: number[] = [];
  for (let v = 0; v <= max; v++) if (!byValue.has(v)) missing.push(v);
  if (missing.length > 0) {
    throw new RangeError(
      `nnU-Net needs consecutive label values 0..${max} without gaps, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing ` +
        `(values: ${[...byValue.keys()].sort((a, b) => a - b).join(', ')}); remap the protocol's label ids with remapLabelsConsecutive()`,
    );
  }
}

/** The dataset.json of an nnU-Net v2 raw dataset; validates channels, labels, numTraining and file ending. */
export function nnunetDatasetJson(input: NnunetDatasetJsonInput): NnunetDatasetJson {
  const channelKeys = Object.keys(input.channelNames ?? {});
  if (channelKeys.length === 0) throw new RangeError("nnU-Net needs at least one input channel, e.g. channelNames: { 0: 'CT' }");
  const channels = channelKeys.map(Number).sort((a, b) => a - b);
  channels.forEach((c, i) => {
    if (c !== i) throw new RangeError(`nnU-Net channel indices must be 0..${channelKeys.length - 1} without gaps, got ${channelKeys.join(', ')}`);
  });
  const channel_names: Record<string, string> = {};
  for (const c of channels) {
    const name = input.channelNames[c];
    if (typeof name !== 'string' || name.trim() === '') throw new RangeError(`nnU-Net channel ${c} has no name; use the modality, e.g. 'CT' or 'T2'`);
    channel_names[String(c)] = name;
  }
  assertNnunetLabels(input.labels);
  if (!(Number.isInteger(input.numTraining) && input.numTraining >= 1)) throw new RangeError(`nnU-Net numTraining must be a whole number >= 1, got ${String(input.numTraining)}`);
  const fileEnding = input.fileEnding ?? NNUNET_DEFAULT_FILE_ENDING;
  assertFileEnding(fileEnding);
  const labels = Object.fromEntries(Object.entries(input.labels).sort((a, b) => a[1] - b[1]));
  const json: NnunetDatasetJson = { channel_names, labels, numTraining: input.numTraining, file_ending: fileEnding };
  if (input.name !== undefined) json.name = input.name;
  if (input.description !== undefined) json.description = input.description;
  if (input.reference !== undefined) json.reference = input.reference;
  if (input.release !== undefined) json.release = input.release;
  if (input.licence !== undefined) json.licence = input.licence;
  if (input.overwriteImageReaderWriter !== undefined) json.overwrite_image_reader_writer = input.overwriteImageReaderWriter;
  return json;
}

/** 'PREFIX_0001': the case identifier nnU-Net pairs images and labels by (index zero-padded to four digits). */
export function nnunetCaseName(prefix: string, index: number): string {
  // Letters, digits, '-' and '_' only: the identifier becomes a file name on every OS and inside zip archives.
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(prefix)) {
    throw new RangeError(`nnU-Net case prefix must be letters, digits, '-' or '_' (starting with a letter or digit), got "${String(prefix)}"`);
  }
  if (!(Number.isInteger(index) && index >= 0)) throw new RangeError(`nnU-Net case index must be a whole number >= 0, got ${String(index)}`);
  return `${prefix}_${String(index).padStart(4, '0')}`;
}

/** 'PREFIX_0001_0000.nii.gz': one input channel of a case. */
export function nnunetImageFileName(caseName: string, channel: number, fileEnding = NNUNET_DEFAULT_FILE_ENDING): string {
  if (!(Number.isInteger(channel) && channel >= 0 && channel <= 9999)) throw new RangeError(`nnU-Net channel must be a whole number 0..9999, got ${String(channel)}`);
  assertFileEnding(fileEnding);
  return `${caseName}_${String(channel).padStart(4, '0')}${fileEnding}`;
}

/** 'PREFIX_0001.nii.gz': the segmentation of a case (no channel suffix). */
export function nnunetLabelFileName(caseName: string, fileEnding = NNUNET_DEFAULT_FILE_ENDING): string {
  assertFileEnding(fileEnding);
  return `${caseName}${fileEnding}`;
}

export interface NnunetCaseFiles {
  /** Paths relative to the dataset folder, one per channel in channel order. */
  images: string[];
  label: string;
}

/**
 * Where a case's files go: imagesTr/labelsTr for train and validation (nnU-Net validates on its own folds of the
 * training folder, see {@link nnunetSplitsFinal}), imagesTs/labelsTs for test.
 */
export function nnunetCaseFiles(caseName: string, split: Split, channels: number, fileEnding = NNUNET_DEFAULT_FILE_ENDING): NnunetCaseFiles {
  if (!(Number.isInteger(channels) && channels >= 1)) throw new RangeError(`nnU-Net cases need at least one channel, got ${String(channels)}`);
  if (!(SPLITS as readonly string[]).includes(split)) throw new RangeError(`Unknown split "${split}"; the splits are ${SPLITS.join(', ')}`);
  const suffix = split === 'test' ? 'Ts' : 'Tr';
  return {
    images: Array.from({ length: channels }, (_, c) => `images${suffix}/${nnunetImageFileName(caseName, c, fileEnding)}`),
    label: `labels${suffix}/${nnunetLabelFileName(caseName, fileEnding)}`,
  };
}

export interface NnunetFold {
  train: string[];
  val: string[];
}

/**
 * splits_final.json with one fold: our train cases as 'train', our validation cases as 'val' (test cases are not
 * in imagesTr and are left out). Train nnU-Net with fold 0 to use it.
 */
export function nnunetSplitsFinal(caseSplits: Readonly<Record<string, Split>>): NnunetFold[] {
  const train: string[] = [], val: string[] = [];
  for (const [caseName, split] of Object.entries(caseSplits)) {
    if (split === 'train') train.push(caseName);
    else if (split === 'validation') val.push(caseName);
    else if (split !== 'test') throw new RangeError(`Case "${caseName}" has unknown split "${String(split)}"`);
  }
  if (train.length === 0 || val.length === 0) {
    throw new RangeError(`nnU-Net's splits_final.json needs at least one training and one validation case, got ${train.length} and ${val.length}`);
  }
  return [{ train: train.sort(), val: val.sort() }];
}

export interface LabelRemap {
  /** Protocol label id → dataset label value, background 0 → 0 included. */
  mapping: Record<number, number>;
  /** The same as pairs in protocol id order, for manifests and reports. */
  pairs: Array<{ protocolId: number; datasetId: number }>;
}

/**
 * Consecutive dataset values for a protocol's label ids, in ascending id order: [1, 4, 9] → 1→1, 4→2, 9→3 (and
 * 0→0). Sorting first means the mapping does not depend on the order the protocol lists its labels in. Export
 * the returned mapping with the dataset: it is how a prediction is read back into protocol ids.
 */
export function remapLabelsConsecutive(protocolLabelIds: readonly number[]): LabelRemap {
  const seen = new Set<number>();
  for (const id of protocolLabelIds) {
    if (!(Number.isInteger(id) && id >= 0)) throw new RangeError(`Protocol label id ${String(id)} is not a whole number >= 0`);
    if (seen.has(id)) throw new RangeError(`Protocol label id ${id} is listed twice`);
    seen.add(id);
  }
  seen.add(0);
  const pairs = [...seen].sort((a, b) => a - b).map((protocolId, datasetId) => ({ protocolId, datasetId }));
  return { mapping: Object.fromEntries(pairs.map((p) => [p.protocolId, p.datasetId])), pairs };
}

/** nnU-Net labels from a protocol's named labels, with the remap their ids went through. */
export function nnunetLabelsFromProtocol(protocolLabels: ReadonlyArray<{ id: number; name: string }>): { labels: Record<string, number>; remap: LabelRemap } {
  const names = new Set<string>();
  for (const l of protocolLabels) {
    if (l.id === 0) throw new RangeError(`Protocol label "${l.name}" has id 0, which is background in nnU-Net; foreground labels need ids >= 1`);
    if (typeof l.name !== 'string' || l.name.trim() === '') throw new RangeError(`Protocol label ${l.id} has no name`);
    if (l.name === 'background') throw new RangeError(`Protocol label ${l.id} is named "background", which nnU-Net reserves for value 0`);
    if (names.has(l.name)) throw new RangeError(`Protocol label name "${l.name}" is used twice`);
    names.add(l.name);
  }
  const remap = remapLabelsConsecutive(protocolLabels.map((l) => l.id));
  const labels: Record<string, number> = { background: 0 };
  for (const l of [...protocolLabels].sort((a, b) => a.id - b.id)) labels[l.name] = remap.mapping[l.id];
  assertNnunetLabels(labels);
  return { labels, remap };
}

type LabelArray = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array;

/**
 * A label map with protocol ids rewritten to dataset values (a new array of the same type: dataset values never
 * exceed protocol ids, so they always fit); a byte map whose ids all keep their values is returned itself, not
 * copied (a 512x512x300 map is 79 MB), so treat the result as read-only. Throws on a voxel whose id the remap
 * does not know.
 */
export function applyLabelRemap<T extends LabelArray>(labelMap: T, remap: LabelRemap): T {
  if (labelMap instanceof Uint8Array) {
    // The usual case, a byte per voxel: check the ids with a histogram, then remap through a 256-entry table
    // (or the map itself when every id keeps its value); the general loop below is kept for naming a bad voxel.
    const seen = new Uint32Array(256);
    for (let i = 0; i < labelMap.length; i++) seen[labelMap[i]]++;
    const table = new Uint8Array(256);
    const known = new Uint8Array(256);
    for (const p of remap.pairs) {
      if (p.protocolId > 255) continue;
      table[p.protocolId] = p.datasetId;
      known[p.protocolId] = 1;
    }
    let identity = true;
    let unknown = false;
    for (let id = 0; id < 256; id++) {
      if (!seen[id]) continue;
      if (!known[id]) unknown = true;
      else if (table[id] !== id) identity = false;
    }
    if (!unknown) {
      if (identity) return labelMap;
      const out = new Uint8Array(labelMap.length);
      for (let i = 0; i < labelMap.length; i++) out[i] = table[labelMap[i]];
      return out as T;
    }
  }
  const maxId = remap.pairs.length > 0 ? remap.pairs[remap.pairs.length - 1].protocolId : 0;
  const table = new Int32Array(maxId + 1).fill(-1);
  for (const p of remap.pairs) table[p.protocolId] = p.datasetId;
  const out = new (labelMap.constructor as new (n: number) => T)(labelMap.length);
  for (let i = 0; i < labelMap.length; i++) {
    const id = labelMap[i];
    const mapped = id >= 0 && id <= maxId ? table[id] : -1;
    if (mapped < 0) throw new RangeError(`Voxel ${i} has label id ${id}, which is not in the label remap (ids ${remap.pairs.map((p) => p.protocolId).join(', ')})`);
    out[i] = mapped;
  }
  return out;
}
