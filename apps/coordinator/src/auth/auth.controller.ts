import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Access, actorOf, AUTH_COOKIE, CurrentPrincipal, Principal, Public } from '@contour/auth';
import { openapi } from '../system/openapi';
import { AuthService } from './auth.service';
import { DataSource } from 'typeorm';
import { InjectDataSource } from '@nestjs/typeorm';
import { User } from '@contour/db';
import { toPublicUser } from './auth.service';

const LoginBody = z.object({ username: z.string().min(1, 'username is required'), password: z.string().min(1, 'password is required') });
const TokenBody = z.object({ name: z.string().min(1).max(100), expiresInDays: z.number().int().min(1).max(3650).optional() });

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Username + password -> a Bearer token. Also sets an HttpOnly cookie so browser pages (queue dashboard) work. */
  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiBody(openapi(LoginBody))
  async login(@Body({ schema: LoginBody }) body: z.infer<typeof LoginBody>, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const result = await this.auth.login(body.username, body.password, req.ip ?? null);
    res.cookie(AUTH_COOKIE, result.accessToken, { httpOnly: true, sameSite: 'strict', path: '/', maxAge: result.expiresIn * 1000 });
    return result;
  }

  @Public()
  @Post('logout')
  @HttpCode(204)
  logout(@Res({ passthrough: true }) res: Response) {
    res.clearCookie(AUTH_COOKIE, { path: '/' });
  }

  @ApiBearerAuth()
  @Access({})
  @Get('me')
  async me(@CurrentPrincipal() p: Principal) {
    return toPublicUser(await this.dataSource.getRepository(User).findOneByOrFail({ id: p.userId }));
  }

  @ApiBearerAuth()
  @Access({})
  @Post('tokens')
  @ApiBody(openapi(TokenBody))
  createToken(@CurrentPrincipal() p: Principal, @Body({ schema: TokenBody }) body: z.infer<typeof TokenBody>) {
    return this.auth.createApiToken(actorOf(p), body.name, body.expiresInDays);
  }

  @ApiBearerAuth()
  @Access({})
  @Get('tokens')
  listTokens(@CurrentPrincipal() p: Principal) {
    return this.auth.listApiTokens(p.userId);
  }

  @ApiBearerAuth()
  @Access({})
  @Delete('tokens/:id')
  @HttpCode(204)
  revokeToken(@CurrentPrincipal() p: Principal, @Param('id', { schema: z.uuid() }) id: string) {
    return this.auth.revokeApiToken(actorOf(p), id);
  }
}
