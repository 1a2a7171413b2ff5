/** DiffKeys.tsx - the differing keys a compare listed, and where each one lives: only here, only on the peer, or both with other versions. */
import type { CompareResponse } from '../api/types';
import { Empty } from '../components/Notice';
import { whereText } from './format';

interface Props {
  result: CompareResponse | null;
  here: string;
  peer: string;
}

export function DiffKeys({ result, here, peer }: Props) {
  return (
    <section className="box" aria-label="Differing keys" data-testid="merkle-diff-keys">
      <h2 className="box-title">Differing keys</h2>
      {!result ? (
        <p className="muted small">Compare to list the keys that differ.</p>
      ) : result.keys.length === 0 ? (
        <Empty testId="merkle-no-diff">{result.in_sync ? `No key differs: ${here} and ${peer} agree.` : 'The compare named no key.'}</Empty>
      ) : (
        <>
          <p className="small muted">
            {result.keys.length < result.keys_differing ? `the first ${result.keys.length} of ${result.keys_differing}` : `${result.keys.length} ${result.keys.length === 1 ? 'key' : 'keys'}`}
          </p>
          <ul className="plain mk-keys">
            {[...result.keys].sort((a, b) => a.key.localeCompare(b.key, undefined, { numeric: true })).map((k) => (
              <li key={k.key} data-testid="merkle-diff-key" data-key={k.key} data-where={k.where}>
                <span className="mono ellipsis" title={k.key}>
                  {k.key}
                </span>
                <span className={`mk-where mk-where-${k.where}`}>{whereText(k.where, here, peer)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
