import { z } from 'zod';

/** OpenAPI request-body description generated from the same zod schema that validates the request. */
export function openapi(schema: z.ZodType) {
  return { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown> };
}
