import { useCallback, useEffect, useState } from 'react';

export type ThemeChoice = 'auto' | 'light' | 'dark';
const KEY = 'chorus.theme';

function systemDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

function readChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'auto';
  } catch {
    return 'auto';
  }
}

/**
 * The colour theme: follows prefers-color-scheme until the user picks one
 * (kept in localStorage). Sets data-theme on <html> for the CSS variables.
 */
export function useTheme(): { choice: ThemeChoice; effective: 'light' | 'dark'; cycle: () => void } {
  const [choice, setChoice] = useState<ThemeChoice>(readChoice);
  const [dark, setDark] = useState(systemDark);
  useEffect(() => {
    if (typeof matchMedia !== 'function') return;
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const on = () => setDark(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  const effective = choice === 'auto' ? (dark ? 'dark' : 'light') : choice;
  useEffect(() => {
    document.documentElement.dataset.theme = effective;
  }, [effective]);
  const cycle = useCallback(() => {
    setChoice((c) => {
      const next: ThemeChoice = c === 'auto' ? (dark ? 'light' : 'dark') : c === 'light' ? 'dark' : 'auto';
      try {
        if (next === 'auto') localStorage.removeItem(KEY);
        else localStorage.setItem(KEY, next);
      } catch {
        /* not kept */
      }
      return next;
    });
  }, [dark]);
  return { choice, effective, cycle };
}
