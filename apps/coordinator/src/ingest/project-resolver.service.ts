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

  /** The project a DICOM_DEFAULT_PROJECT given by name was found to be, kept for as long as the process runs. */
  private boundByName: string | null = null;

  /**
   * The DICOM_DEFAULT_PROJECT setting (an id or a name) as a project id, or null when unset or unknown. A name is looked
   * up once and then held by id: renaming the project keeps its traffic (it was refused), and a project later created
   * under the old name does not take over every unrouted modality's studies.
   */
  async defaultProjectId(): Promise<string | null> {
    const ref = this.config.dicom.defaultProject;
    if (!ref) return null;
    const repo = this.dataSource.getRepository(Project);
    if (this.boundByName) {
      if (await repo.existsBy({ id: this.boundByName })) return this.boundByName;
      this.logger.warn(`DICOM_DEFAULT_PROJECT=${ref}: the project it named is gone`);
      return null;
    }
    const project = UUID.test(ref) ? await repo.findOneBy({ id: ref }) : await repo.findOneBy({ name: ref });
    if (!project) this.logger.warn(`DICOM_DEFAULT_PROJECT=${ref} names no project`);
    else if (!UUID.test(ref)) this.boundByName = project.id;
    return project?.id ?? null;
  }

  /** The project routed to a calling AE title, else the default project, else null. */
  async forCallingAe(callingAeTitle: string): Promise<string | null> {
    const route = await this.dataSource.getRepository(AeRoute).findOneBy({ callingAeTitle: callingAeTitle.trim() });
    return route?.projectId ?? (await this.defaultProjectId());
  }
}
