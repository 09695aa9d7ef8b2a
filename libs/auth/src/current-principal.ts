import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Principal } from './principal';

/** The authenticated caller of this request (set by AuthGuard). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest().principal as Principal | undefined;
  if (!principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return principal;
});
