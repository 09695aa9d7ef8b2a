import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AuditService } from '@contour/audit';
import { actorOf, credentialOf, PrincipalResolver } from '@contour/auth';
import { Role } from '@contour/db';
import { JobQueue } from '@contour/queue';

export const QUEUE_BOARD_PATH = '/api/admin/queues';

/**
 * Mounts bull-board for admins (Bearer header or the login cookie, so it opens in a browser tab). What an admin does
 * there (retry, remove, promote, clean, pause, resume: every request but a read) is audited before it is done, with the
 * board's own path of it (`/api/queues/ingest/pause`, …); an action that cannot be audited is not done.
 */
export function mountQueueBoard(app: INestApplication) {
  const jobs = app.get(JobQueue);
  const principals = app.get(PrincipalResolver);
  const audit = app.get(AuditService);
  const adapter = new ExpressAdapter();
  adapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: jobs.all().map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Contour queues' } } });
  const adminOnly = async (req: Request, res: Response, next: NextFunction) => {
    const credential = credentialOf(req);
    const principal = credential ? await principals.resolve(credential) : null;
    if (!principal) return res.status(401).json({ statusCode: 401, message: 'Sign in as an admin first (POST /api/auth/login sets the cookie this page uses)' });
    if (!principal.roles.includes(Role.Admin)) return res.status(403).json({ statusCode: 403, message: 'The queue dashboard is for admins' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      try {
        await audit.record(actorOf({ ...principal, ip: req.ip ?? null }), { action: 'queue.board.action', objectType: 'queue', objectId: null, details: { method: req.method, path: req.path } });
      } catch (e) {
        return next(e);
      }
    }
    next();
  };
  app.use(QUEUE_BOARD_PATH, adminOnly, adapter.getRouter());
}
