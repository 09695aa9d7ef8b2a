import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DeploymentSetting } from '@contour/db';

const KEY = 'deid-secret';

/**
 * The deployment's de-identification secret: it makes UID remapping, pseudonyms and date shifts consistent
 * across uploads, processes and restarts. Created once, by whichever process needs it first.
 */
@Injectable()
export class DeploymentSecret {
  private cached: Promise<string> | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  get(): Promise<string> {
    this.cached ??= (async () => {
      await this.dataSource.query(`INSERT INTO deployment_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [KEY, randomBytes(32).toString('base64url')]);
      const row = await this.dataSource.getRepository(DeploymentSetting).findOneByOrFail({ key: KEY });
      return row.value;
    })().catch((e) => {
      this.cached = null;
      throw e;
    });
    return this.cached;
  }
}
