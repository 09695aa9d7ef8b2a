import { inLanes } from './lanes';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('inLanes', () => {
  it.each<[number, number, number]>([
    [5, 2, 2],
    [5, 1, 1],
    [1, 2, 1],
    [0, 2, 0],
  ])('%i items in %i lanes: at most %i at once, every item once', async (count, lanes, most) => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await inLanes(Array.from({ length: count }, (_, i) => i), lanes, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await tick(5);
      seen.push(i);
      running--;
    });
    expect(seen.sort()).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(peak).toBe(most);
  });

  it('starts nothing after a failure, lets the running item finish, then raises the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const attempt = inLanes([0, 1, 2, 3, 4], 2, async (i) => {
      started.push(i);
      if (i === 0) {
        await tick(2);
        throw new Error('case 0 failed');
      }
      await tick(20);
      finished.push(i);
    });
    await expect(attempt).rejects.toThrow('case 0 failed');
    // Lane 2 was on item 1 when item 0 failed: it finished it and took no other.
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([1]);
  });
});
