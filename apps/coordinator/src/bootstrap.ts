import { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import pinoHttp from 'pino-http';
import type { Logger as Pino } from 'pino';
import { ContourConfig } from '@contour/config';
import { Metrics } from '@contour/observability';
import { AppModule } from './app.module';
import { mountQueueBoard } from './system/queue-board';
import { serveWebApp } from './system/web-app';

/** Builds the coordinator application (used by main.ts and by the integration tests). */
export async function createCoordinator(config: ContourConfig, logger: LoggerService | false, pino?: Pino): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { logger: logger === false ? false : logger, abortOnError: false, bodyParser: false });
  // Masks travel as base64 in JSON; a large compressed 3D mask is a few MB.
  // DICOMweb reads its own bodies: a STOW-RS sent as JSON is answered 415 by its controller, not 400 from a parser
  // that tried to read multipart bytes as JSON.
  app.useBodyParser('json', { limit: '64mb', type: (req: { url?: string; headers: Record<string, string | string[] | undefined> }) => !(req.url ?? '').startsWith('/dicom-web') && /^application\/([\w.-]+\+)?json\b/i.test(String(req.headers['content-type'] ?? '')) });
  app.useBodyParser('urlencoded', { limit: '1mb', extended: false });
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');

  const metrics = app.get(Metrics);
  // One line per request at info level (pino-http). Above info only failed requests are worth a line, and pino-http
  // would still build a child logger and its bindings for every request (6 % of the coordinator's CPU under load):
  // the failures are logged here instead, with the same fields.
  const accessLog = pino?.isLevelEnabled('info') ?? false;
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      const seconds = (performance.now() - started) / 1000;
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      if (pino && !accessLog && res.statusCode >= 500) {
        pino.error({ req: { method: req.method, url: req.originalUrl, remoteAddress: req.ip }, res: { statusCode: res.statusCode }, responseTime: Math.round(seconds * 1000) }, 'request errored');
      }
    });
    next();
  });
  if (pino && accessLog) app.use(pinoHttp({ logger: pino, autoLogging: { ignore: (req) => req.url === '/api/health' || req.url === '/api/metrics' } }));

  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Contour API')
      .setDescription('Medical imaging studies in, training-ready datasets out. Sign in with POST /api/auth/login and send the token as "Authorization: Bearer <token>".')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/openapi.json' });
  mountQueueBoard(app);
  serveWebApp(app, config.web.root);
  await app.init();
  return app;
}
