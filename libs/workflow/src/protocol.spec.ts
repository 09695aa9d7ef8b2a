import { ProtocolInput } from './protocol';

const label = (id: number, name: string) => ({ id, name, color: '#ff0000' });
const mask = [{ kind: 'segmentation-3d' as const }];

describe('ProtocolInput', () => {
  it.each([
    ['two labels', [label(1, 'Liver'), label(2, 'Tumour')], null],
    ['a name trimmed', [label(1, '  Liver ')], null],
    ['an id used twice', [label(1, 'Liver'), label(1, 'Tumour')], 'labels.1.id: label id 1 is used twice'],
    ['a name used twice', [label(1, 'Lung'), label(2, 'Lung')], 'labels.1.name: label name "Lung" is used twice (also "Lung"); exports could not tell the two apart'],
    ['a name used twice in another case', [label(1, 'Lung'), label(2, 'lung ')], 'labels.1.name: label name "lung" is used twice (also "Lung"); exports could not tell the two apart'],
    ['"background"', [label(1, 'background')], 'labels.0.name: "background" is reserved for the unlabelled voxels (value 0 in exported masks); name the label after what it marks'],
    ['"Background" in any case', [label(1, 'Liver'), label(2, 'Background')], 'labels.1.name: "Background" is reserved for the unlabelled voxels (value 0 in exported masks); name the label after what it marks'],
    ['a name of spaces', [label(1, '   ')], 'labels.0.name: a label needs a name'],
    ['no label for masks', [], 'labels: masks, boxes, polygons and points need at least one label'],
  ])('%s', (_name, labels, message) => {
    const r = ProtocolInput.safeParse({ labels, annotationTypes: mask });
    const messages = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual(message ? [message] : []);
    if (r.success) expect(r.data.labels.map((l) => l.name)).toEqual(labels.map((l) => l.name.trim()));
  });

  it.each([
    ['a question', [{ kind: 'classification', question: 'Finding?', choices: ['yes', 'no'] }], null],
    ['the reserved question "shapes"', [{ kind: 'classification', question: 'shapes', choices: ['yes', 'no'] }], 'annotationTypes.0.question: "shapes" is reserved for boxes, points and polygons; name the question differently'],
    ['no annotation type', [], 'annotationTypes: a protocol needs at least one annotation type'],
    ['two questions', [{ kind: 'classification', question: 'Side?', choices: ['left', 'right'] }, { kind: 'classification', question: 'Level?', choices: ['upper', 'lower'] }], null],
    ['a question asked twice', [{ kind: 'classification', question: 'Side?', choices: ['left', 'right'] }, { kind: 'classification', question: 'Side? ', choices: ['upper', 'lower'] }], 'annotationTypes.1.question: the question "Side? " is asked twice; answers are kept by question, so give each its own wording'],
    ['a choice offered twice', [{ kind: 'classification', question: 'Finding?', choices: ['yes', 'no', 'yes '] }], 'annotationTypes.0.choices.2: the choice "yes" is offered twice for "Finding?"'],
  ])('%s', (_name, annotationTypes, message) => {
    const r = ProtocolInput.safeParse({ labels: [], annotationTypes });
    const messages = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual(message ? [message] : []);
  });
});
