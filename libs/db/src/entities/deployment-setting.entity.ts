import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Values fixed once per deployment and shared by every process, such as the secret that makes UID remapping
 * consistent across uploads. Created on first start; never rotated without a migration plan.
 */
@Entity('deployment_settings')
export class DeploymentSetting {
  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ type: 'text' })
  value: string;
}
