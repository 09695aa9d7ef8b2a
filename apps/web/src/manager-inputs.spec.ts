import { parseAeTitle, parsePriority, parseSetting } from './manager-inputs';

describe('parsePriority', () => {
  it.each([
    ['a number', '5', 5],
    ['a negative number', '-20', -20],
    ['with spaces around', ' 7 ', 7],
    ['the top of the range', '1000', 1000],
    ['empty is refused, not 0', '', null],
    ['only spaces', '   ', null],
    ['a fraction', '1.5', null],
    ['a word', 'high', null],
    ['an exponent', '1e3', null],
    ['beyond the range', '1001', null],
  ] as [string, string, number | null][])('%s', (_name, text, expected) => {
    const r = parsePriority(text);
    expect(r.ok ? r.value : null).toBe(expected);
    if (!r.ok) expect(r.message).toMatch(/-1000 to 1000/);
  });
});

describe('parseAeTitle', () => {
  it.each([
    ['a title', 'MODALITY1', 'MODALITY1'],
    ['trimmed', '  CT_SCANNER ', 'CT_SCANNER'],
    ['16 characters', 'ABCDEFGHIJKLMNOP', 'ABCDEFGHIJKLMNOP'],
    ['inner spaces', 'CT 2', 'CT 2'],
    ['empty', '', null],
    ['only spaces', '    ', null],
    ['17 characters', 'ABCDEFGHIJKLMNOPQ', null],
    ['not ASCII', 'CTÄ', null],
    ['a control character', 'CT\t2', null],
  ] as [string, string, string | null][])('%s', (_name, text, expected) => {
    const r = parseAeTitle(text);
    expect(r.ok ? r.value : null).toBe(expected);
  });
});

describe('parseSetting', () => {
  const threshold = { name: 'the agreement threshold', min: 0, max: 1, whole: false };
  const lease = { name: 'the lease length', min: 1, max: 10080, whole: true, unit: 'minutes' };
  it.each([
    ['a fraction', '0.8', threshold, 0.8],
    ['zero typed is zero', '0', threshold, 0],
    ['a leading dot', '.5', threshold, 0.5],
    ['spaces around', ' 1 ', threshold, 1],
    ['empty is refused, not 0', '', threshold, 'Enter the agreement threshold as a number from 0 to 1.'],
    ['only spaces', '  ', threshold, 'Enter the agreement threshold as a number from 0 to 1.'],
    ['a word', 'high', threshold, 'Enter the agreement threshold as a number from 0 to 1.'],
    ['an exponent', '1e-1', threshold, 'Enter the agreement threshold as a number from 0 to 1.'],
    ['beyond the range', '1.5', threshold, 'The agreement threshold is a number from 0 to 1 (got 1.5).'],
    ['a whole number', '30', lease, 30],
    ['a fraction where whole numbers are asked', '2.5', lease, 'Enter the lease length as a whole number from 1 to 10080 minutes.'],
    ['the range in the unit typed', '0', lease, 'The lease length is a whole number from 1 to 10080 minutes (got 0).'],
  ] as [string, string, Parameters<typeof parseSetting>[1], number | string][])('%s', (_name, text, setting, expected) => {
    const r = parseSetting(text, setting);
    expect(r.ok ? r.value : r.message).toBe(expected);
  });
});
