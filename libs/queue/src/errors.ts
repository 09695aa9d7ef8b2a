import { UnrecoverableError } from 'bullmq';

/**
 * A failure that retrying cannot fix (a corrupt file, a missing row). BullMQ fails the job at once instead of
 * retrying it. Everything else thrown from a handler is treated as transient and retried with backoff.
 */
export class TerminalJobError extends UnrecoverableError {
  constructor(
    message: string,
    readonly code = 'terminal',
  ) {
    super(message);
    this.name = 'TerminalJobError';
  }
}
