import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** System-wide roles. Project work additionally needs a membership with a project role. */
export enum Role {
  Admin = 'admin',
  Manager = 'manager',
  Annotator = 'annotator',
  Reviewer = 'reviewer',
}
export const ALL_ROLES = Object.values(Role);

@Entity('users')
// Usernames are one account whatever their case ("Alice" is "alice"): unique on lower(username), which login looks up
// (expression index, created by the migration).
@Index('users_username_lower', { synchronize: false })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text', unique: true })
  username: string;

  @Column({ name: 'display_name', type: 'text' })
  displayName: string;

  @Column({ name: 'password_hash', type: 'text' })
  passwordHash: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  roles: Role[];

  /** Qualification tags (e.g. neuro-mr, mammography) used by task routing. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  skills: string[];

  @Column({ type: 'boolean', default: true })
  active: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
