import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { CONFIG, ContourConfig, requireRuntime } from '@contour/config';
import { AuthGuard, PrincipalResolver } from './auth.guard';

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
  providers: [PrincipalResolver, AuthGuard],
  exports: [PrincipalResolver, AuthGuard, JwtModule],
})
export class AuthCoreModule {}
