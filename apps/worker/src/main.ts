// Worker process entry point. Usage: node dist/apps/worker/src/main.js [--queues ingest,prelabel]
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, requireRuntime } from '@contour/config';
import { createPino, PinoNestLogger } from '@contour/observability';
import { parseQueueList } from '@contour/queue';
import { WorkerModule } from './worker.module';

async function main() {
  const { values } = parseArgs({ options: { queues: { type: 'string' } }, strict: true });
  const config = loadConfig();
  requireRuntime(config);
  const queues = parseQueueList(values.queues?.split(',').map((q) => q.trim()).filter(Boolean) ?? config.worker.queues);
  const logger = new PinoNestLogger(createPino(config, 'worker'));
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, queues), { logger, abortOnError: false });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  logger.log(`Contour worker ready, serving: ${queues.join(', ')}`, 'Worker');
}

main().catch((err) => {
  if (err instanceof ConfigError || /Unknown queue|No handler for job/.test(String(err?.message))) {
    console.error(`contour worker: ${err.message}`);
  } else {
    console.error('contour worker failed to start:', err);
  }
  process.exit(1);
});
