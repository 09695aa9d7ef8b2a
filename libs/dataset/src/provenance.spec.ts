import { caseProvenance, pseudonymousUserId, PSEUDONYMOUS_USER_ID, type CaseProvenanceInput } from './provenance';

const SECRET = 'a-deployment-secret-0123456789';

describe('pseudonymousUserId', () => {
  it('is HMAC-SHA256 in RFC 4648 base32, stable across versions', () => {
    // python3: 'U-' + base64.b32encode(hmac.new(secret, b'user\0alice', sha256).digest()[:10])
    expect(pseudonymousUserId(SECRET, 'alice')).toBe('U-UUTV2ZTB42KMJJI3');
  });

  it('differs per user and per secret, and hides the username', () => {
    const ids = [pseudonymousUserId(SECRET, 'alice'), pseudonymousUserId(SECRET, 'bob'), pseudonymousUserId(`${SECRET}x`, 'alice')];
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) {
      expect(id).toMatch(PSEUDONYMOUS_USER_ID);
      expect(id.toLowerCase()).not.toContain('alice');
    }
  });

  it.each<[string, string, string]>([
    ['short', 'alice', 'at least 16 characters'],
    [SECRET, '', 'empty user id'],
  ])('rejects secret %p / user %p', (secret, user, message) => {
    expect(() => pseudonymousUserId(secret, user)).toThrow(message);
  });
});

describe('caseProvenance', () => {
  const annotator = pseudonymousUserId(SECRET, 'alice');
  const reviewer = pseudonymousUserId(SECRET, 'carol');
  const input: CaseProvenanceInput = {
    caseId: 'case-17',
    source: { studyInstanceUid: '2.25.1234', seriesInstanceUid: '2.25.5678' },
    protocol: { id: 'liver-v', version: 3 },
    draft: { model: 'liver-seg', version: '1.2.0', uncertainty: undefined },
    annotators: [annotator],
    reviewers: [reviewer],
    agreement: { meanDice: 0.91, hd95Mm: undefined },
    reworkRounds: 1,
    split: 'train',
    timestamps: { submitted: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)), approved: '2025-01-03T10:00:00+01:00', exported: undefined },
  };

  it('drops undefined fields and writes ISO timestamps', () => {
    const record = caseProvenance(input);
    expect(record).toEqual({
      schema: 'contour.case-provenance/1',
      caseId: 'case-17',
      source: { studyInstanceUid: '2.25.1234', seriesInstanceUid: '2.25.5678' },
      protocol: { id: 'liver-v', version: 3 },
      draft: { model: 'liver-seg', version: '1.2.0' },
      annotators: [annotator],
      reviewers: [reviewer],
      agreement: { meanDice: 0.91 },
      reworkRounds: 1,
      split: 'train',
      timestamps: { submitted: '2025-01-02T03:04:05.000Z', approved: '2025-01-03T09:00:00.000Z' },
    });
    expect(JSON.stringify(record)).not.toContain('undefined');
    expect(Object.keys(record)).not.toContain('adjudicator');
  });

  it('lists every model of a draft several models made', () => {
    const models = [
      { model: 'liver-seg', version: '1.2.0' },
      { model: 'lesion-detector', version: '0.3.0' },
    ];
    expect(caseProvenance({ ...input, draft: { model: 'liver-seg', version: '1.2.0', models } }).draft).toEqual({ model: 'liver-seg', version: '1.2.0', models });
  });

  it.each<[string, Partial<CaseProvenanceInput>, string]>([
    ['a username as annotator', { annotators: ['alice'] }, 'Annotator id "alice" is not pseudonymous; pass user ids through pseudonymousUserId()'],
    ['a username as reviewer', { reviewers: ['carol@hospital.org'] }, 'Reviewer id "carol@hospital.org" is not pseudonymous'],
    ['a study UID that is not a UID', { source: { studyInstanceUid: 'Smith^John', seriesInstanceUid: '2.25.5678' } }, 'Study Instance UID "Smith^John" is not a DICOM UID'],
    ['no protocol version', { protocol: { id: 'x', version: '' } }, 'protocol version'],
    ['a bad timestamp', { timestamps: { submitted: 'yesterday' } }, 'Timestamp submitted "yesterday" is not a valid date'],
    ['an infinite agreement', { agreement: { dice: Number.POSITIVE_INFINITY } }, 'agreement metric "dice"'],
    ['negative rework rounds', { reworkRounds: -1 }, 'reworkRounds must be a whole number >= 0'],
  ])('rejects %s', (_, override, message) => {
    expect(() => caseProvenance({ ...input, ...override })).toThrow(message);
  });
});
