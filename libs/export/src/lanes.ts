// Work on a list with a fixed number of lanes: at most `lanes` items in flight, each lane taking the next item
// when it is done. On a failure no lane starts another item; once the running ones have finished, the first
// error is raised (so nothing is still writing when the caller retries).
export async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, lanes), items.length) }, async () => {
      while (!failure && next < items.length) {
        const item = items[next++];
        await work(item).catch((error: unknown) => void (failure ??= { error }));
      }
    }),
  );
  if (failure) throw (failure as { error: unknown }).error;
}
