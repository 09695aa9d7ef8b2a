// Who may see images held for a privacy review (see privacy-review.controller.ts): admins and the project's
// managers. Annotators and reviewers asking for a held image's pixels (instance file, series volume, WADO-RS)
// are refused with the reason; their tasks never include one (the split leaves held images out). A series with
// images excluded for good is shown without them (their slices blanked in its volume).
import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Principal } from '@contour/auth';
import { Project, ProjectRole, Role } from '@contour/db';
import { awaitingReviewSql, excludedInstanceSql, heldFlags, heldInstanceSql } from '@contour/deid';
import { parseProjectSettings } from '@contour/workflow';

export const HELD_MESSAGE = 'held for a privacy review: its pixels may show identifying text (burned-in annotation), and a manager of the project must clear it first';
export const EXCLUDED_MESSAGE = 'excluded by a manager of the project after a privacy review (its pixels may show identifying text): it is never shown to annotators or reviewers';

@Injectable()
export class PrivacyHold {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  seesHeld(p: Principal): boolean {
    return p.roles.includes(Role.Admin) || (p.projectRoles ?? []).includes(ProjectRole.Manager);
  }

  /** The flags that hold an image from this caller in this project; null when the caller sees held images. */
  async hiddenFlags(p: Principal, projectId: string): Promise<string[] | null> {
    return this.seesHeld(p) ? null : this.flagsOf(projectId);
  }

  /** The flags that hold an image in this project (its deid.burnedInHold setting); 404 without the project. */
  async flagsOf(projectId: string): Promise<string[]> {
    const project = await this.dataSource.getRepository(Project).findOneBy({ id: projectId });
    if (!project) throw new NotFoundException(`No project ${projectId}`);
    return heldFlags(parseProjectSettings(project.settings).deid.burnedInHold);
  }

  /**
   * 403 naming the reason when the instance is held from the caller (waiting for a decision, or excluded), or when
   * an image of the series waits for a decision. A series with excluded images is shown: its volume has their
   * slices blanked.
   */
  async assertVisible(p: Principal, projectId: string, target: { instanceId: string } | { seriesId: string }): Promise<void> {
    const flags = await this.hiddenFlags(p, projectId);
    if (!flags) return;
    if ('seriesId' in target) {
      const waiting = await this.dataSource.query(`SELECT 1 FROM instances i WHERE i.project_id = $1 AND i.series_id = $2 AND ${awaitingReviewSql('i', 3)} LIMIT 1`, [projectId, target.seriesId, flags]);
      if (waiting.length) throw new ForbiddenException(`An image of this series is ${HELD_MESSAGE}`);
      return;
    }
    const [held]: { excluded: boolean }[] = await this.dataSource.query(`SELECT ${excludedInstanceSql('i')} AS excluded FROM instances i WHERE i.project_id = $1 AND i.id = $2 AND ${heldInstanceSql('i', 3)}`, [projectId, target.instanceId, flags]);
    if (held) throw new ForbiddenException(held.excluded ? `This image was ${EXCLUDED_MESSAGE}` : `This image is ${HELD_MESSAGE}`);
  }
}
