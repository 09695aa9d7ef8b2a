import { fmtDate } from './dom';
import { inboxWhen } from './inbox';

describe('inboxWhen', () => {
  const at = '2026-11-28T10:00:00.000Z';
  it.each([
    ['a lease says until when it runs (it showed the expiry as if it were past)', { state: 'leased', leaseExpiresAt: at, submittedAt: null }, `lease until ${fmtDate(at)}`],
    ['a submitted read, when it was submitted', { state: 'submitted', leaseExpiresAt: null, submittedAt: at }, fmtDate(at)],
    ['an open rework slot, not yet submitted', { state: 'open', leaseExpiresAt: null, submittedAt: null }, '–'],
  ])('%s', (_name, read, expected) => {
    expect(inboxWhen(read)).toBe(expected);
  });
});
