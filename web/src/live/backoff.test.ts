import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultBackoff } from './backoff';

describe('backoffDelay', () => {
  const noJitter = () => 0.5; // 2*0.5-1 = 0: the middle of the jitter range
  it('starts at 0.5 s and doubles up to 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, defaultBackoff, noJitter))).toEqual([500, 1000, 2000, 4000, 8000, 10000, 10000]);
  });
  it('jitters within ±20% and never past the cap', () => {
    expect(backoffDelay(0, defaultBackoff, () => 0)).toBe(400);
    expect(backoffDelay(0, defaultBackoff, () => 0.999999)).toBe(600);
    expect(backoffDelay(10, defaultBackoff, () => 0.999999)).toBe(10000);
    expect(backoffDelay(10, defaultBackoff, () => 0)).toBe(8000);
  });
});
