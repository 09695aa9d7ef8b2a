export default async function globalTeardown() {
  (globalThis as { __redis?: { kill(): void } }).__redis?.kill();
}
