import { useDashboard } from '../context';
import { useDash, type DashState } from '../live/store';

/** A slice of the live state; the component re-renders when the slice changes. */
export function useDashState<T>(select: (s: DashState) => T): T {
  return useDash(useDashboard().store, select);
}
