import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus registry and the metrics Contour defines. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'contour_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'contour_job_duration_seconds',
    help: 'Time spent in a job handler, by queue, job name and outcome',
    labelNames: ['queue', 'name', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'contour_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly jobsFinished = new Counter({
    name: 'contour_jobs_finished_total',
    help: 'Jobs finished by queue, name and outcome (completed, failed, retry)',
    labelNames: ['queue', 'name', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'contour_process_' });
  }

  observeJob(queue: string, name: string, outcome: 'completed' | 'failed' | 'retry', durationMs: number) {
    this.jobDuration.observe({ queue, name, outcome }, durationMs / 1000);
    this.jobsFinished.inc({ queue, name, outcome });
  }
}
