import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limiter } from './concurrency.ts';

test('limiter: at most n at once, started in call order, a failure does not stop the next', async () => {
  const run = limiter(2);
  let active = 0;
  let most = 0;
  const started: number[] = [];
  const task = (i: number, fail = false) =>
    run(async () => {
      started.push(i);
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (fail) throw new Error(`task ${i}`);
      return i;
    });
  const results = await Promise.allSettled([task(0), task(1, true), task(2), task(3), task(4)]);
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed')),
    [0, 'failed', 2, 3, 4],
  );
  const one = limiter(1);
  const order: string[] = [];
  await Promise.all([
    one(async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('a');
    }),
    one(async () => order.push('b')),
  ]);
  assert.deepEqual(order, ['a', 'b']);
});
