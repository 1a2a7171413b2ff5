import type { ThemeChoice } from '../hooks/useTheme';

const label: Record<ThemeChoice, string> = { auto: 'Theme: auto', light: 'Theme: light', dark: 'Theme: dark' };

export function ThemeButton({ choice, onCycle }: { choice: ThemeChoice; onCycle: () => void }) {
  return (
    <button type="button" className="btn btn-ghost" data-testid="theme-toggle" data-theme-choice={choice} onClick={onCycle} title="Switch between automatic, light and dark colours">
      {label[choice]}
    </button>
  );
}
