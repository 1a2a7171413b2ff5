import { describe, expect, it } from 'vitest';
import type { Member, MemberStatus } from '../api/types';
import { countStatuses, lastChange, recordTransitions } from './memberHistory';

const m = (id: string, status: MemberStatus, inc = 1): Member => ({ node_id: id, address: '', status, last_seen: '', incarnation: inc });
const table = (...ms: Member[]) => Object.fromEntries(ms.map((x) => [x.node_id, x]));

describe('recordTransitions', () => {
  it('records first sight and each change', () => {
    let h = recordTransitions({}, null, table(m('a', 'alive'), m('b', 'alive')), 1);
    expect(h.a).toEqual([{ at: 1, from: null, to: 'alive', incarnation: 1 }]);
    const t1 = table(m('a', 'alive'), m('b', 'alive'));
    const t2 = table(m('a', 'suspected'), m('b', 'alive'));
    const t3 = table(m('a', 'alive', 2), m('b', 'alive'));
    h = recordTransitions(h, t1, t2, 2);
    h = recordTransitions(h, t2, t3, 3);
    expect(h.a.map((t) => `${t.from}->${t.to}@${t.at}`)).toEqual(['null->alive@1', 'alive->suspected@2', 'suspected->alive@3']);
    expect(h.a[2].incarnation).toBe(2);
    expect(lastChange(h, 'a')).toBe(3);
    expect(lastChange(h, 'zz')).toBeNull();
  });

  it('returns the same object when nothing changed, keeps the last few', () => {
    const t = table(m('a', 'alive'));
    const h = recordTransitions({}, null, t, 1);
    expect(recordTransitions(h, t, t, 2)).toBe(h);
    let hh = h;
    let prev = t;
    for (let i = 0; i < 10; i++) {
      const next = table(m('a', i % 2 ? 'alive' : 'dead'));
      hh = recordTransitions(hh, prev, next, 10 + i, 4);
      prev = next;
    }
    expect(hh.a).toHaveLength(4);
  });

  it('does not repeat a member that disappeared and came back unchanged', () => {
    const h = recordTransitions({}, null, table(m('a', 'dead')), 1);
    const h2 = recordTransitions(h, {}, table(m('a', 'dead')), 2);
    expect(h2).toBe(h);
  });
});

describe('countStatuses', () => {
  it('counts each status', () => {
    expect(countStatuses(table(m('a', 'alive'), m('b', 'dead'), m('c', 'alive'), m('d', 'suspected')))).toEqual({ alive: 2, suspected: 1, dead: 1, left: 0 });
    expect(countStatuses(null)).toEqual({ alive: 0, suspected: 0, dead: 0, left: 0 });
  });
});
