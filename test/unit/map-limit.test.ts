import { mapLimit } from '../../src/map-limit.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('mapLimit keeps the order of the items and never runs more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
    running++;
    most = Math.max(most, running);
    await tick(n);
    running--;
    return n * 10;
  });
  expect(out).toEqual([50, 10, 40, 20, 30, 0]);
  expect(most).toBe(2);
});

test('mapLimit starts nothing after the first failure and throws it only once the running calls ended', async () => {
  const started: number[] = [];
  let running = 0;
  const err = await mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
    started.push(n);
    running++;
    await tick(n === 0 ? 1 : 20);
    running--;
    if (n === 0) throw new Error('first');
    if (n === 1) throw new Error('second');
    return n;
  }).catch((e: Error) => e);
  expect((err as Error).message).toBe('first');
  expect(running).toBe(0);
  expect(started).toEqual([0, 1]);
});
