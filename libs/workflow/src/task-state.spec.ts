import { afterConsensus, afterRejection, canTransition, statesAllowing, TaskEvent as E, TaskState as S, transition, TransitionError, TRANSITIONS } from './task-state';

describe('task state machine', () => {
  // Every allowed transition, written out: a change to the table must change this list.
  const allowed: [S, E, S][] = [
    [S.Created, E.StartPrelabel, S.Prelabelling],
    [S.Created, E.SkipPrelabel, S.Ready],
    [S.Created, E.Cancel, S.Cancelled],
    [S.Created, E.Fail, S.Failed],
    [S.Prelabelling, E.PrelabelDone, S.Ready],
    [S.Prelabelling, E.Cancel, S.Cancelled],
    [S.Prelabelling, E.Fail, S.Failed],
    [S.Ready, E.Lease, S.InAnnotation],
    [S.Ready, E.StartPrelabel, S.Prelabelling],
    [S.Ready, E.Cancel, S.Cancelled],
    [S.InAnnotation, E.Lease, S.InAnnotation],
    [S.InAnnotation, E.AllLeasesLapsed, S.Ready],
    [S.InAnnotation, E.ReadsComplete, S.Consensus],
    [S.InAnnotation, E.Cancel, S.Cancelled],
    [S.Consensus, E.AgreementReached, S.Review],
    [S.Consensus, E.AgreementReachedNoReview, S.Approved],
    [S.Consensus, E.AgreementBelowThreshold, S.Adjudication],
    [S.Consensus, E.Fail, S.Failed],
    [S.Consensus, E.Cancel, S.Cancelled],
    [S.Adjudication, E.Adjudicated, S.Review],
    [S.Adjudication, E.AdjudicatedNoReview, S.Approved],
    [S.Adjudication, E.Cancel, S.Cancelled],
    [S.Review, E.Approve, S.Approved],
    [S.Review, E.Reject, S.Rework],
    [S.Review, E.RejectBeyondLimit, S.Escalated],
    [S.Review, E.Cancel, S.Cancelled],
    [S.Rework, E.ReworkSubmitted, S.Consensus],
    [S.Rework, E.Cancel, S.Cancelled],
    [S.Escalated, E.ManagerReopen, S.Rework],
    [S.Escalated, E.ManagerApprove, S.Approved],
    [S.Escalated, E.Cancel, S.Cancelled],
    [S.Failed, E.Retry, S.Created],
    [S.Failed, E.RetryConsensus, S.Consensus],
    [S.Failed, E.Cancel, S.Cancelled],
  ];

  it.each(allowed)('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toBe(to);
    expect(canTransition(from, event)).toBe(true);
  });

  it('refuses every other (state, event) pair with a message naming what is possible', () => {
    const allowedKeys = new Set(allowed.map(([f, e]) => `${f}/${e}`));
    let refused = 0;
    for (const from of Object.values(S)) {
      for (const event of Object.values(E)) {
        if (allowedKeys.has(`${from}/${event}`)) continue;
        expect(() => transition(from, event)).toThrow(TransitionError);
        expect(canTransition(from, event)).toBe(false);
        refused++;
      }
    }
    expect(refused).toBe(Object.values(S).length * Object.values(E).length - allowed.length);
    expect(() => transition(S.Review, E.Lease)).toThrow(/"review" cannot "lease"; possible now: approve, reject, reject-beyond-limit, cancel/);
    expect(() => transition(S.Approved, E.Cancel)).toThrow(/the task is finished/);
  });

  it('the table has no transition the list above lacks', () => {
    const count = Object.values(TRANSITIONS).reduce((n, m) => n + Object.keys(m).length, 0);
    expect(count).toBe(allowed.length);
  });

  it.each([
    [E.Lease, [S.Ready, S.InAnnotation]],
    [E.Reject, [S.Review]],
    [E.Cancel, [S.Created, S.Prelabelling, S.Ready, S.InAnnotation, S.Consensus, S.Adjudication, S.Review, S.Rework, S.Escalated, S.Failed]],
  ])('statesAllowing(%s)', (event, states) => {
    expect(statesAllowing(event)).toEqual(states);
  });

  it.each([
    [0.9, { agreementThreshold: 0.8, reviewRequired: true, reads: 3 }, E.AgreementReached],
    [0.9, { agreementThreshold: 0.8, reviewRequired: false, reads: 3 }, E.AgreementReachedNoReview],
    [0.79, { agreementThreshold: 0.8, reviewRequired: true, reads: 3 }, E.AgreementBelowThreshold],
    [0.8, { agreementThreshold: 0.8, reviewRequired: true, reads: 2 }, E.AgreementReached],
    [0, { agreementThreshold: 0.8, reviewRequired: true, reads: 1 }, E.AgreementReached],
  ])('afterConsensus(%s, %j) = %s', (agreement, settings, event) => {
    expect(afterConsensus(agreement, settings)).toBe(event);
  });

  it.each([
    [0, 2, E.Reject],
    [1, 2, E.Reject],
    [2, 2, E.RejectBeyondLimit],
    [0, 0, E.RejectBeyondLimit],
  ])('afterRejection(%i rounds so far, max %i) = %s', (rounds, max, event) => {
    expect(afterRejection(rounds, max)).toBe(event);
  });
});
