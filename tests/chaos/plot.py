"""The chaos run's latency plot, in the style of Jepsen's: one SVG file,
hand-written (no third-party library).

Owns: `plot(history, nemesis, path)` and the CLI
`python3 tests/chaos/plot.py RUN_DIR` (writes RUN_DIR/latency.svg).

Layout: a title line; the top panel is every operation's latency (x =
seconds since the start of the run at the op's start, y = latency in ms on
a log scale), colored by kind (read, write, delete) and shaped by outcome
(ok dot, info triangle, fail cross); the bottom panel is throughput (ok
operations completed per 1 s bucket, one line per kind); each fault of the
nemesis log is a translucent band across both panels, labelled with its
name and targets; a legend on the right.

Invariants: at most MAX_POINTS points are drawn (the ok ops are sampled
evenly, and so are the others if there are more than half that many), so
the file stays a few MB at most; the x scale is shared by both panels and
the bands; the file is well-formed XML whatever the input (text is escaped).
"""

import math
import os
import sys
from xml.sax.saxutils import escape

from checker import fault_intervals, history_end, load_jsonl

MAX_POINTS = 20000
WIDTH, HEIGHT = 1200, 760
LEFT, RIGHT_LEGEND = 80, 190  # margins: left of the panels, legend on the right
TOP_PANEL = (70, 400)  # (y of the top, height)
BOTTOM_PANEL = (530, 170)
KINDS = ("read", "write", "delete")
KIND_COLORS = {"read": "#2b6cb0", "write": "#dd6b20", "delete": "#805ad5"}
OUTCOMES = ("ok", "info", "fail")
FAULT_COLORS = ("#e53e3e", "#38a169", "#d69e2e", "#3182ce", "#b83280", "#319795", "#718096", "#975a16")
MARKERS = """<defs>
<circle id="m-ok" r="1.8" stroke="none" fill-opacity="0.55"/>
<path id="m-info" d="M0,-3.4L3,1.8L-3,1.8Z" stroke="none"/>
<path id="m-fail" d="M-2.6,-2.6L2.6,2.6M-2.6,2.6L2.6,-2.6" fill="none" stroke-width="1.4"/>
</defs>"""


# ---------------------------------------------------------------- SVG text


def _num(v):
    return ("%.1f" % v).rstrip("0").rstrip(".")


def _attrs(attrs):
    return "".join(' %s="%s"' % (k.replace("_", "-"), escape(str(v), {'"': "&quot;"}))
                   for k, v in attrs.items())


def el(tag, **attrs):
    return "<%s%s/>" % (tag, _attrs(attrs))


def text(x, y, s, **attrs):
    attrs.setdefault("font_size", 11)
    return "<text x=\"%s\" y=\"%s\"%s>%s</text>" % (_num(x), _num(y), _attrs(attrs), escape(str(s)))


# ---------------------------------------------------------------- scales


class Scale:
    """Maps data values to pixels, linearly or on a log10 scale."""

    def __init__(self, lo, hi, px_lo, px_hi, log=False):
        self.log, self.px_lo, self.px_hi = log, px_lo, px_hi
        self.lo, self.hi = (math.log10(lo), math.log10(hi)) if log else (lo, hi)

    def __call__(self, v):
        v = math.log10(max(v, 10 ** self.lo)) if self.log else v
        return self.px_lo + (v - self.lo) / ((self.hi - self.lo) or 1) * (self.px_hi - self.px_lo)


def nice_step(span, count):
    """A 1, 2 or 5 x 10^k step giving about count ticks over span."""
    raw = max(span, 1e-9) / count
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def linear_ticks(hi, count, cover=False):
    """Ticks 0, step, ... up to hi (cover: up to the first tick at or above hi)."""
    step = nice_step(hi, count)
    n = math.ceil(hi / step - 1e-9) if cover else int(hi / step + 1e-9)
    return [i * step for i in range(n + 1)]


def log_bounds(values):
    """Decades covering the values (ms), at least one decade wide."""
    lo = 10 ** math.floor(math.log10(max(min(values, default=1.0), 0.01)))
    hi = 10 ** math.ceil(math.log10(max(max(values, default=1.0), lo * 10)))
    return lo, hi


def fmt_ms(v):
    return "%g" % v if v < 1000 else "%gs" % (v / 1000)


# ---------------------------------------------------------------- data


def timed_ops(history):
    return [op for op in history if op.get("f") in KINDS and op.get("start") is not None
            and op.get("end") is not None]


def evenly(items, n):
    """n items picked at even spacing (all of them when there are no more than n)."""
    if len(items) <= n:
        return list(items)
    return [items[int(i * len(items) / n)] for i in range(n)]


def select_points(ops, budget=MAX_POINTS):
    """At most budget ops: the non-ok ones first (up to half the budget), the
    ok ones sampled evenly in the rest."""
    others = [op for op in ops if op.get("outcome") != "ok"]
    ok = [op for op in ops if op.get("outcome") == "ok"]
    others = evenly(others, max(budget // 2, budget - len(ok)))
    return evenly(ok, budget - len(others)) + others


def throughput(ops, seconds):
    """kind -> ok ops completed in each whole second [i, i + 1) of [0, seconds)."""
    out = {k: [0] * seconds for k in KINDS}
    for op in ops:
        i = int(op["end"])
        if op.get("outcome") == "ok" and 0 <= i < seconds:
            out[op["f"]][i] += 1
    return out


def latency_ms(op):
    return max((op["end"] - op["start"]) * 1000.0, 0.001)


# ---------------------------------------------------------------- drawing


def _panel_frame(x, x_ticks, panel, title, y_ticks, ylabel):
    """A panel's frame, x ticks, horizontal grid lines and labels; y_ticks: [(pixel y, label)]."""
    (top, height), right = panel, WIDTH - RIGHT_LEGEND
    out = [el("rect", x=LEFT, y=top, width=right - LEFT, height=height, fill="none", stroke="#4a5568")]
    for py, label in y_ticks:
        out.append(el("line", x1=LEFT, x2=right, y1=_num(py), y2=_num(py), stroke="#e2e8f0"))
        out.append(text(LEFT - 6, py + 4, label, text_anchor="end", fill="#4a5568"))
    for t in x_ticks:
        px = _num(x(t))
        out.append(el("line", x1=px, x2=px, y1=top + height, y2=top + height + 5, stroke="#4a5568"))
        out.append(text(x(t), top + height + 18, "%g" % t, text_anchor="middle", fill="#4a5568"))
    out.append(text(LEFT + (right - LEFT) / 2, top + height + 34, "seconds since start", text_anchor="middle"))
    out.append(text(18, top + height / 2, ylabel, text_anchor="middle",
                    transform="rotate(-90 18 %s)" % _num(top + height / 2)))
    out.append(text(LEFT, top - 6, title, font_weight="bold"))
    return out


def _bands(x, faults, colors):
    top, bottom = TOP_PANEL[0], BOTTOM_PANEL[0] + BOTTOM_PANEL[1]
    out = []
    for i, (name, start, end, rec) in enumerate(faults):
        x0, x1 = x(start), max(x(end), x(start) + 1)
        out.append(el("rect", x=_num(x0), y=top, width=_num(x1 - x0), height=bottom - top, fill=colors[name],
                      fill_opacity="0.13"))
        label = " ".join([name] + [str(t) for t in rec.get("targets") or ()])
        out.append(text(x0 + 3, top + 12 + 12 * (i % 3), label, font_size=10, fill=colors[name]))
    return out


def _points(x, y, ops):
    out = []
    for kind in KINDS:
        for outcome in OUTCOMES:
            group = [op for op in ops if op["f"] == kind and op.get("outcome") == outcome]
            if not group:
                continue
            color = KIND_COLORS[kind]
            out.append('<g fill="%s" stroke="%s">' % (color, color))
            out.extend('<use href="#m-%s" x="%s" y="%s"/>' % (outcome, _num(x(op["start"])), _num(y(latency_ms(op))))
                       for op in group)
            out.append("</g>")
    return out


def _throughput_lines(x, ops, seconds):
    per_kind = throughput(ops, seconds)
    top, height = BOTTOM_PANEL
    hi = max([max(v, default=0) for v in per_kind.values()] + [1])
    ticks = linear_ticks(hi, 4, cover=True)
    y = Scale(0, ticks[-1], top + height, top)
    out = []
    for kind, counts in per_kind.items():
        if any(counts):
            pts = " ".join("%s,%s" % (_num(x(i + 0.5)), _num(y(c))) for i, c in enumerate(counts))
            out.append(el("polyline", points=pts, fill="none", stroke=KIND_COLORS[kind], stroke_width="1.5"))
    return out, [(y(t), "%g" % t) for t in ticks]


def _legend(colors):
    x0, y = WIDTH - RIGHT_LEGEND + 20, TOP_PANEL[0] + 4
    out = [text(x0, y, "kind", font_weight="bold")]
    for kind in KINDS:
        y += 16
        out.append(el("circle", cx=x0 + 5, cy=y - 4, r=4, fill=KIND_COLORS[kind]))
        out.append(text(x0 + 16, y, kind))
    y += 26
    out.append(text(x0, y, "outcome", font_weight="bold"))
    for outcome in OUTCOMES:
        y += 16
        out.append('<use href="#m-%s" x="%d" y="%d" fill="#4a5568" stroke="#4a5568"/>' % (outcome, x0 + 5, y - 4))
        out.append(text(x0 + 16, y, outcome))
    if colors:
        y += 26
        out.append(text(x0, y, "faults", font_weight="bold"))
    for name, color in colors.items():
        y += 16
        out.append(el("rect", x=x0, y=y - 10, width=11, height=11, fill=color, fill_opacity="0.35"))
        out.append(text(x0 + 16, y, name))
    y = BOTTOM_PANEL[0] + 4
    out.append(text(x0, y, "throughput", font_weight="bold"))
    out.append(text(x0, y + 16, "ok ops/s, one line", fill="#4a5568"))
    out.append(text(x0, y + 30, "per kind", fill="#4a5568"))
    return out


def _fault_colors(faults):
    """fault name -> color, in order of first appearance."""
    colors = {}
    for name, _, _, _ in faults:
        colors.setdefault(name, FAULT_COLORS[len(colors) % len(FAULT_COLORS)])
    return colors


def _title(ops, shown, faults, end):
    counts = ", ".join("%s %d" % (o, sum(op.get("outcome") == o for op in ops)) for o in OUTCOMES)
    subtitle = "%d ops over %.1f s (%s); %d points drawn; %d faults" % (
        len(ops), end, counts, len(shown), len(faults))
    return [text(LEFT, 26, "Chorus chaos run: latency and throughput", font_size=16, font_weight="bold"),
            text(LEFT, 46, subtitle, fill="#4a5568")]


def render(history, nemesis):
    """The SVG document of a run, as a string."""
    ops, ops_end = timed_ops(history), history_end(history)
    faults = fault_intervals(nemesis, ops_end)
    end = max([ops_end, 1.0] + [e for _, _, e, _ in faults])
    colors, shown = _fault_colors(faults), select_points(ops)
    x = Scale(0, end, LEFT, WIDTH - RIGHT_LEGEND)
    x_ticks = linear_ticks(end, 10)
    lo, hi = log_bounds([latency_ms(op) for op in ops])
    y = Scale(lo, hi, TOP_PANEL[0] + TOP_PANEL[1], TOP_PANEL[0], log=True)
    decades = [10 ** e for e in range(round(math.log10(lo)), round(math.log10(hi)) + 1)]
    lines, tp_ticks = _throughput_lines(x, ops, max(1, int(ops_end)))  # whole seconds only
    body = _title(ops, shown, faults, end) + _bands(x, faults, colors)
    body += _panel_frame(x, x_ticks, TOP_PANEL, "latency of every operation", [(y(d), fmt_ms(d)) for d in decades],
                         "latency (ms, log)")
    body += _points(x, y, shown)
    body += _panel_frame(x, x_ticks, BOTTOM_PANEL, "throughput", tp_ticks, "ok ops / s")
    body += lines + _legend(colors)
    head = '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" ' \
           'font-family="Helvetica, Arial, sans-serif">' % (WIDTH, HEIGHT, WIDTH, HEIGHT)
    background = el("rect", x=0, y=0, width=WIDTH, height=HEIGHT, fill="white")
    return "\n".join([head, MARKERS, background] + body + ["</svg>", ""])


def plot(history, nemesis, path):
    """Writes the run's latency plot to path (an SVG file)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(history, nemesis))


def main(argv):
    if len(argv) != 2:
        print("usage: plot.py RUN_DIR", file=sys.stderr)
        return 2
    run_dir = argv[1]
    nem_path = os.path.join(run_dir, "nemesis.jsonl")
    try:
        history = load_jsonl(os.path.join(run_dir, "history.jsonl"))
        nemesis = load_jsonl(nem_path) if os.path.exists(nem_path) else []
    except (OSError, ValueError) as e:
        print("plot: %s" % e, file=sys.stderr)
        return 2
    out = os.path.join(run_dir, "latency.svg")
    plot(history, nemesis, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
