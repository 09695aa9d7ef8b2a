// Coordinator process entry point: the HTTP API (and, later, DICOM receivers). Starts no queue workers.
import 'reflect-metadata';
import { ConfigError, loadConfig, requireRuntime } from '@contour/config';
import { createPino, PinoNestLogger } from '@contour/observability';
import { createCoordinator } from './bootstrap';

async function main() {
  const config = loadConfig();
  requireRuntime(config);
  const pino = createPino(config, 'coordinator');
  const logger = new PinoNestLogger(pino);
  const app = await createCoordinator(config, logger, pino);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.http.port, config.http.host);
  // Longer than the idle timeouts of common clients and proxies, so a client never writes a request onto a
  // connection the server is closing (EPIPE on large uploads).
  const server = app.getHttpServer();
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  logger.log(`Contour coordinator listening on http://${config.http.host === '0.0.0.0' ? 'localhost' : config.http.host}:${config.http.port}`, 'Coordinator');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `contour coordinator: ${err.message}` : err);
  process.exit(1);
});
