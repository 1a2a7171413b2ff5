import { useMemo } from 'react';
import { area, line, scaleLinear } from 'd3';
import type { StatPoint } from '../model/stats';

interface Props {
  points: StatPoint[];
  width?: number;
  height?: number;
  /** Time window shown, ending now. */
  windowMs?: number;
  label: string;
}

/** A small line of ops/s over the last minute. */
export function Sparkline({ points, width = 300, height = 48, windowMs = 60000, label }: Props) {
  const d = useMemo(() => {
    if (points.length < 2) return null;
    const end = points[points.length - 1].t;
    const x = scaleLinear().domain([end - windowMs, end]).range([0, width]);
    const max = Math.max(1, ...points.map((p) => p.ops));
    const y = scaleLinear().domain([0, max]).range([height - 2, 2]);
    const vis = points.filter((p) => p.t >= end - windowMs);
    return {
      line: line<StatPoint>().x((p) => x(p.t)).y((p) => y(p.ops))(vis) ?? '',
      area: area<StatPoint>().x((p) => x(p.t)).y0(height).y1((p) => y(p.ops))(vis) ?? '',
      max,
    };
  }, [points, width, height, windowMs]);
  return (
    <svg className="sparkline" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" height={height} role="img" aria-label={label} data-testid="ops-sparkline" data-points={points.length}>
      {d ? (
        <>
          <path d={d.area} className="spark-area" />
          <path d={d.line} className="spark-line" />
        </>
      ) : (
        <line x1={0} x2={width} y1={height - 2} y2={height - 2} className="spark-empty" />
      )}
    </svg>
  );
}
