// Structured logs with pino. Nest's own Logger calls go through PinoNestLogger, so every line, framework or
// ours, is one JSON object with a level, a time, the process role and the logging class (context).
import { LoggerService } from '@nestjs/common';
import pino, { Logger as Pino } from 'pino';
import type { ContourConfig } from '@contour/config';

export function createPino(config: Pick<ContourConfig, 'log'>, role: string): Pino {
  return pino({
    level: config.log.level,
    base: { role, pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, params: unknown[]) {
    const rest = [...params];
    const context = rest.length && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    let msg: string | undefined;
    if (message instanceof Error) {
      fields.err = message;
      msg = message.message;
    } else if (message && typeof message === 'object') {
      Object.assign(fields, message);
    } else {
      msg = String(message);
    }
    for (const p of rest) {
      if (typeof p === 'string') {
        if (msg === undefined) msg = p;
        else if (level === 'error') fields.stack = p;
        else msg += ` ${p}`;
      } else if (p instanceof Error) fields.err = p;
      else if (p && typeof p === 'object') Object.assign(fields, p);
    }
    this.pino[level](fields, msg);
  }

  log(message: unknown, ...params: unknown[]) {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.write('fatal', message, params);
  }
}
