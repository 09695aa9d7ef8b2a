import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '@contour/auth';
import { Metrics } from '@contour/observability';
import { QueueMetricsService } from './queue-metrics.service';

@ApiTags('system')
@Controller('api/metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly queues: QueueMetricsService,
  ) {}

  /** Prometheus exposition format. Holds no patient data, so scrapers need no token. */
  @Public()
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape() {
    await this.queues.refreshDepth();
    return this.metrics.registry.metrics();
  }
}
