// Test-only. Jest runs every test file in its own vm context, whose Float32Array is not the main Node realm's;
// onnxruntime-node's native binding creates output arrays in the main realm, and onnxruntime-common's
// `data instanceof Float32Array` check then rejects every session output ("A float32 tensor's data must be type
// of function Float32Array()"). Spec files that run sessions import this module before anything else, so the
// test context uses the main realm's typed arrays. Production code runs in a single realm and never needs it.
import { runInThisContext } from 'node:vm';

const TYPED_ARRAYS = [
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Uint8Array',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

const context = globalThis as unknown as Record<string, unknown>;
for (const name of TYPED_ARRAYS) {
  const mainRealm = runInThisContext(name) as unknown;
  if (context[name] !== mainRealm) context[name] = mainRealm;
}
