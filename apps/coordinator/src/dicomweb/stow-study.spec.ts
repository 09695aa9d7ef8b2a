import { remapUid } from '@contour/deid';
import { servedTargetStudy, targetStudyMatch } from './stow-study';

describe('STOW-RS target study', () => {
  const secret = 'a-deployment-secret-of-32-chars!';
  const source = '1.2.826.0.1.3680043.8.498.1';
  const served = remapUid(source, secret);

  it.each([
    ['the UID sent', source, source, 'source'],
    ['the UID sent, padded as on the wire', `${source}\0`, source, 'source'],
    ['the de-identified UID Contour serves', source, served, 'served'],
    ['another study', '1.2.3.4', source, null],
    ['another study, by its served UID', '1.2.3.4', served, null],
    ['no Study Instance UID', undefined, source, null],
  ] as const)('%s', (_name, sent, target, expected) => {
    expect(targetStudyMatch(sent, target, secret)).toBe(expected);
  });

  it('names the served study in the response, however it was addressed', () => {
    expect(servedTargetStudy(source, ['source', null], secret)).toBe(served);
    expect(servedTargetStudy(served, ['served'], secret)).toBe(served);
    expect(servedTargetStudy('2.25.1', [null], secret)).toBe('2.25.1');
  });
});
