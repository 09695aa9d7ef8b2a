// The task life cycle as a pure state machine. Every transition the system makes goes through `transition`,
// so the allowed moves live in one table (and its tests), not scattered across services.

export enum TaskState {
  /** Split from a study; nothing has happened yet. */
  Created = 'created',
  /** A model is drafting a pre-label. */
  Prelabelling = 'prelabelling',
  /** Waiting for annotators. */
  Ready = 'ready',
  /** At least one read leased; collecting k independent (blinded) reads. */
  InAnnotation = 'in_annotation',
  /** k reads in; agreement being computed and reads merged. */
  Consensus = 'consensus',
  /** Agreement below the project's threshold: an adjudicator settles the disagreeing regions. */
  Adjudication = 'adjudication',
  /** Waiting for a reviewer. */
  Review = 'review',
  /** Rejected by the reviewer: back with its annotator(s). */
  Rework = 'rework',
  /** Rejected more often than the project allows: a manager decides. */
  Escalated = 'escalated',
  /** Done. */
  Approved = 'approved',
  /** Withdrawn by a manager. */
  Cancelled = 'cancelled',
  /** A step failed in a way the system cannot retry (e.g. the series is unreadable); see the reason. */
  Failed = 'failed',
}

export const TERMINAL_STATES: readonly TaskState[] = [TaskState.Approved, TaskState.Cancelled];

/** States in which a task collects (or re-collects, in rework) its independent reads: its readers are blinded. */
export const COLLECTING_STATES: readonly string[] = [TaskState.Ready, TaskState.InAnnotation, TaskState.Rework];

export enum TaskEvent {
  StartPrelabel = 'start-prelabel',
  PrelabelDone = 'prelabel-done',
  SkipPrelabel = 'skip-prelabel',
  Lease = 'lease',
  AllLeasesLapsed = 'all-leases-lapsed',
  ReadsComplete = 'reads-complete',
  AgreementReached = 'agreement-reached',
  AgreementReachedNoReview = 'agreement-reached-no-review',
  AgreementBelowThreshold = 'agreement-below-threshold',
  Adjudicated = 'adjudicated',
  AdjudicatedNoReview = 'adjudicated-no-review',
  Approve = 'approve',
  Reject = 'reject',
  RejectBeyondLimit = 'reject-beyond-limit',
  ReworkSubmitted = 'rework-submitted',
  ManagerReopen = 'manager-reopen',
  ManagerApprove = 'manager-approve',
  Cancel = 'cancel',
  Fail = 'fail',
  /** A manager retries a task that failed before its reads were collected: it starts again. */
  Retry = 'retry',
  /** A manager retries a task whose consensus failed (a lost blob, an outage): its reads are merged again. */
  RetryConsensus = 'retry-consensus',
}

const T = TaskState;
const E = TaskEvent;

/** state -> event -> next state. Anything absent is refused. */
export const TRANSITIONS: Readonly<Record<TaskState, Partial<Record<TaskEvent, TaskState>>>> = {
  [T.Created]: { [E.StartPrelabel]: T.Prelabelling, [E.SkipPrelabel]: T.Ready, [E.Cancel]: T.Cancelled, [E.Fail]: T.Failed },
  [T.Prelabelling]: { [E.PrelabelDone]: T.Ready, [E.Cancel]: T.Cancelled, [E.Fail]: T.Failed },
  // A new model version may re-draft a task nobody has started.
  [T.Ready]: { [E.Lease]: T.InAnnotation, [E.StartPrelabel]: T.Prelabelling, [E.Cancel]: T.Cancelled },
  [T.InAnnotation]: { [E.Lease]: T.InAnnotation, [E.AllLeasesLapsed]: T.Ready, [E.ReadsComplete]: T.Consensus, [E.Cancel]: T.Cancelled },
  [T.Consensus]: {
    [E.AgreementReached]: T.Review,
    [E.AgreementReachedNoReview]: T.Approved,
    [E.AgreementBelowThreshold]: T.Adjudication,
    [E.Fail]: T.Failed,
    [E.Cancel]: T.Cancelled,
  },
  [T.Adjudication]: { [E.Adjudicated]: T.Review, [E.AdjudicatedNoReview]: T.Approved, [E.Cancel]: T.Cancelled },
  [T.Review]: { [E.Approve]: T.Approved, [E.Reject]: T.Rework, [E.RejectBeyondLimit]: T.Escalated, [E.Cancel]: T.Cancelled },
  [T.Rework]: { [E.ReworkSubmitted]: T.Consensus, [E.Cancel]: T.Cancelled },
  [T.Escalated]: { [E.ManagerReopen]: T.Rework, [E.ManagerApprove]: T.Approved, [E.Cancel]: T.Cancelled },
  [T.Approved]: {},
  [T.Cancelled]: {},
  [T.Failed]: { [E.Retry]: T.Created, [E.RetryConsensus]: T.Consensus, [E.Cancel]: T.Cancelled },
};

export class TransitionError extends Error {
  constructor(
    readonly from: TaskState,
    readonly event: TaskEvent,
  ) {
    const allowed = Object.keys(TRANSITIONS[from] ?? {});
    super(`A task in state "${from}" cannot "${event}"${allowed.length ? `; possible now: ${allowed.join(', ')}` : ' (the task is finished)'}`);
    this.name = 'TransitionError';
  }
}

/** The state after `event`, or a TransitionError saying what is possible instead. */
export function transition(from: TaskState, event: TaskEvent): TaskState {
  const to = TRANSITIONS[from]?.[event];
  if (!to) throw new TransitionError(from, event);
  return to;
}

export const canTransition = (from: TaskState, event: TaskEvent) => TRANSITIONS[from]?.[event] !== undefined;

/** The states from which `event` is allowed (for guarded SQL updates: `WHERE state = ANY(...)`). */
export function statesAllowing(event: TaskEvent): TaskState[] {
  return (Object.keys(TRANSITIONS) as TaskState[]).filter((s) => TRANSITIONS[s][event] !== undefined);
}

/** After consensus: where the task goes, given the agreement and the project's quality settings. */
export function afterConsensus(agreement: number, settings: { agreementThreshold: number; reviewRequired: boolean; reads: number }): TaskEvent {
  // A single read has nothing to agree with: it goes straight on.
  if (settings.reads > 1 && agreement < settings.agreementThreshold) return TaskEvent.AgreementBelowThreshold;
  return settings.reviewRequired ? TaskEvent.AgreementReached : TaskEvent.AgreementReachedNoReview;
}

/** A reviewer's rejection: rework, or escalation once the rework rounds are used up. */
export function afterRejection(reworkRoundsSoFar: number, maxReworkRounds: number): TaskEvent {
  return reworkRoundsSoFar >= maxReworkRounds ? TaskEvent.RejectBeyondLimit : TaskEvent.Reject;
}
