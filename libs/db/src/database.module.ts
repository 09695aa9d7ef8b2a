import { DynamicModule, Inject, Injectable, Logger, Module, OnModuleInit } from '@nestjs/common';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CONFIG, ContourConfig, requireRuntime } from '@contour/config';
import { dataSourceOptions, isSchemaCurrent, migrate } from './data-source';
import { usePreparedStatements } from './prepared';

/**
 * Makes sure the schema is current before anything uses it: runs migrations (DB_MIGRATE=true, under an
 * advisory lock) or waits for another process to run them, failing with a clear message after a minute.
 */
@Injectable()
export class SchemaGate implements OnModuleInit {
  private readonly logger = new Logger('Database');
  constructor(
    @Inject(CONFIG) private readonly config: ContourConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async onModuleInit() {
    if (this.config.database.migrate) {
      const applied = await migrate(this.dataSource);
      if (applied.length) this.logger.log(`Applied migrations: ${applied.join(', ')}`);
      return;
    }
    const deadline = Date.now() + 60_000;
    while (!(await isSchemaCurrent(this.dataSource))) {
      if (Date.now() > deadline) {
        throw new Error('Database schema is behind this version of Contour and DB_MIGRATE=false: start a process with DB_MIGRATE=true (the coordinator) first');
      }
      this.logger.log('Waiting for migrations to be applied by another process');
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

@Module({})
export class DatabaseModule {
  static forRoot(role: string): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [CONFIG],
          useFactory: (config: ContourConfig) => {
            usePreparedStatements(config.database.preparedStatements);
            return dataSourceOptions({ url: requireRuntime(config).url, poolSize: config.database.poolSize, applicationName: `contour-${role}` });
          },
        }),
      ],
      providers: [SchemaGate],
      exports: [TypeOrmModule],
    };
  }
}
