import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatShare, whereText } from './format';

describe('format', () => {
  it('writes sizes, shares and where a key lives', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(8947848)).toBe('8.5 MiB');
    expect(formatBytes(300 * 1024)).toBe('300 KiB');
    expect(formatShare(1)).toBe('100%');
    expect(formatShare(0.3333)).toBe('33.3%');
    expect(whereText('local_only', 'node-1', 'node-3')).toBe('only on node-1');
    expect(whereText('peer_only', 'node-1', 'node-3')).toBe('only on node-3');
    expect(whereText('both_differ', 'node-1', 'node-3')).toMatch(/differ/);
    expect(formatDuration(11)).toBe('11 ms');
    expect(formatDuration(3600000)).toBe('1 h');
    expect(formatDuration(90 * 60000)).toBe('1.5 h');
    expect(formatDuration(3 * 3600000)).toBe('3 h');
  });
});
