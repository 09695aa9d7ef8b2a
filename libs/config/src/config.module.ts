import { DynamicModule, Global, Module } from '@nestjs/common';
import { ContourConfig, loadConfig } from './config';

/** Injection token for the validated ContourConfig. */
export const CONFIG = Symbol('ContourConfig');

@Global()
@Module({})
export class ConfigModule {
  /** Uses the given config (tests) or validates process.env (processes). */
  static forRoot(config?: ContourConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: CONFIG, useValue: config ?? loadConfig() }],
      exports: [CONFIG],
    };
  }
}
