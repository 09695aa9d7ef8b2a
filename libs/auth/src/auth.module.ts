import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { CONFIG, ContourConfig, requireRuntime } from '@contour/config';
import { AuthGuard, PrincipalResolver } from './auth.guard';
import { PrincipalCache } from './principal-cache';

@Global()
@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [CONFIG],
      useFactory: (config: ContourConfig) => ({
        secret: requireRuntime(config).jwtSecret,
        signOptions: { expiresIn: config.auth.jwtTtlSeconds, issuer: 'contour' },
        verifyOptions: { issuer: 'contour' },
      }),
    }),
  ],
  providers: [PrincipalResolver, PrincipalCache, AuthGuard],
  exports: [PrincipalResolver, PrincipalCache, AuthGuard, JwtModule],
})
export class AuthCoreModule {}
