import { parseAeTitle, parsePriority } from './manager-inputs';

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
