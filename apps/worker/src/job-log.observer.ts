import { Injectable, Logger } from '@nestjs/common';
import type { JobObserver, QueueName } from '@contour/queue';

/** Logs each job outcome with its duration (the coordinator turns the same events into metrics). */
@Injectable()
export class JobLogObserver implements JobObserver {
  private readonly logger = new Logger('Jobs');
  onJobFinished(queue: QueueName, name: string, outcome: 'completed' | 'failed' | 'retry', durationMs: number) {
    this.logger.log({ queue, name, outcome, durationMs: Math.round(durationMs) }, 'job finished');
  }
}
