import { createHash, randomBytes } from 'node:crypto';

export const API_TOKEN_PREFIX = 'ctr_';

/** A new API token secret (shown to the user once) and the hash that is stored. */
export function newApiToken(): { secret: string; hash: string } {
  const secret = API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashApiToken(secret) };
}

export const hashApiToken = (secret: string) => createHash('sha256').update(secret).digest('hex');
export const isApiToken = (bearer: string) => bearer.startsWith(API_TOKEN_PREFIX);
