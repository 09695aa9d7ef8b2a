import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { DicomProjectResolver } from '../ingest/project-resolver.service';

/**
 * /dicom-web/studies... serves DICOM_DEFAULT_PROJECT, so a viewer or modality configured with the plain
 * DICOMweb root works; without a default project it answers 404 naming the project-scoped root.
 */
@Injectable()
export class DicomWebDefaultProjectMiddleware implements NestMiddleware {
  constructor(private readonly projects: DicomProjectResolver) {}

  async use(req: Request, res: Response, next: NextFunction) {
    if (req.url.startsWith('/projects/') || req.url.startsWith('/dicom-web/projects/')) return next();
    const projectId = await this.projects.defaultProjectId();
    if (!projectId) {
      res.status(404).json({ statusCode: 404, message: 'No DICOM_DEFAULT_PROJECT is set: use /dicom-web/projects/{projectId}/… as the DICOMweb root' });
      return;
    }
    const prefix = req.url.startsWith('/dicom-web') ? '/dicom-web' : '';
    req.url = `${prefix}/projects/${projectId}${req.url.slice(prefix.length)}`;
    next();
  }
}
