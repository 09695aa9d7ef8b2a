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
  app.useBodyParser('json', { limit: '64mb' });
  app.useBodyParser('urlencoded', { limit: '1mb', extended: false });
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');

  const metrics = app.get(Metrics);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, (performance.now() - started) / 1000);
    });
    next();
  });
  if (pino) app.use(pinoHttp({ logger: pino, autoLogging: { ignore: (req) => req.url === '/api/health' || req.url === '/api/metrics' } }));

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
