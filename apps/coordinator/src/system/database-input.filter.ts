// Text PostgreSQL refuses to store: the NUL character (U+0000), in a text column (22021) or inside jsonb (22P05). Any
// text field of any request can carry one, and it reaches the database as sent; this answers 400 for all of them in
// one place rather than a 500 from wherever the value is first written or compared.
// And a receiver that met the disk's free-space floor (DiskFullError, from an upload, a STOW-RS body or a zip being
// unpacked): 507 Insufficient Storage, with what was written already deleted by the receiver.
import { ArgumentsHost, BadRequestException, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { DiskFullError } from '@contour/storage';

const REFUSED_TEXT = new Set(['22021', '22P05']);

/** The SQLSTATE of a database error, whether TypeORM wrapped it (QueryFailedError) or pg threw it. */
const sqlState = (e: unknown): string | undefined => {
  const error = e as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = error?.driverError?.code ?? error?.code;
  return typeof code === 'string' ? code : undefined;
};

@Catch()
export class DatabaseInputFilter extends BaseExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost) {
    const code = sqlState(exception);
    if (code && REFUSED_TEXT.has(code)) {
      return super.catch(new BadRequestException('A text value of the request contains a NUL character (\\u0000), which Contour cannot store or search for: remove it and send the request again'), host);
    }
    if (exception instanceof DiskFullError) {
      return super.catch(new HttpException({ statusCode: 507, error: 'Insufficient Storage', message: `Not received: ${exception.message}; nothing of this request was kept` }, 507), host);
    }
    return super.catch(exception, host);
  }
}
