import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CONFIG, ContourConfig } from '@contour/config';
import { AeRoute, Project } from '@contour/db';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decides which project receives DICOM traffic that does not name one (C-STORE, STOW-RS at the root). */
@Injectable()
export class DicomProjectResolver {
  private readonly logger = new Logger('DicomProjects');

  constructor(
    @Inject(CONFIG) private readonly config: ContourConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** The DICOM_DEFAULT_PROJECT setting (an id or a name) as a project id, or null when unset or unknown. */
  async defaultProjectId(): Promise<string | null> {
    const ref = this.config.dicom.defaultProject;
    if (!ref) return null;
    const repo = this.dataSource.getRepository(Project);
    const project = UUID.test(ref) ? await repo.findOneBy({ id: ref }) : await repo.findOneBy({ name: ref });
    if (!project) this.logger.warn(`DICOM_DEFAULT_PROJECT=${ref} names no project`);
    return project?.id ?? null;
  }

  /** The project routed to a calling AE title, else the default project, else null. */
  async forCallingAe(callingAeTitle: string): Promise<string | null> {
    const route = await this.dataSource.getRepository(AeRoute).findOneBy({ callingAeTitle: callingAeTitle.trim() });
    return route?.projectId ?? (await this.defaultProjectId());
  }
}
