import type { ReactNode } from 'react';

/** Card: a titled box of figures in a grid of cards (the Overview and Merkle views). */
export function Card({ title, children, testId, wide }: { title: string; children: ReactNode; testId: string; wide?: boolean }) {
  return (
    <section className={wide ? 'card card-wide' : 'card'} data-testid={testId} aria-label={title}>
      <h2 className="card-title">{title}</h2>
      {children}
    </section>
  );
}
