"""PNG charts of the KPIs for managers (matplotlib, Agg, no display, English labels).

matplotlib's default font has no Bangla glyphs and it does not shape Bangla text, so labels are
English. Names stored in Bangla are drawn with an installed Bangla font when there is one, and
otherwise replaced by "Agent <id>"; a missing font never stops a chart.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402 - the backend is chosen first
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from core.kpis import AgentPerformance, DailySummary  # noqa: E402

BANGLA = re.compile(r"[\u0980-\u09FF]")
DONE, PLANNED, ALERT, GREY = "#2e7d32", "#90caf9", "#c62828", "#9e9e9e"
FUNNEL = ("queued", "sent", "delivered", "read", "replied")


BANGLA_PROBE = ord("ক")


@lru_cache(maxsize=1)
def bangla_font() -> str | None:
    """The family name of an installed font with Bangla glyphs, or None."""
    for entry in font_manager.fontManager.ttflist:
        if "last resort" in entry.name.lower():  # maps every code point to a box
            continue
        try:
            if BANGLA_PROBE in FT2Font(entry.fname).get_charmap():
                return str(entry.name)
        except (OSError, RuntimeError, ValueError):  # unreadable font file: try the next
            continue
    return None


def display_name(name: str, agent_id: int | None) -> str:
    """An agent's name as the chart can draw it."""
    if BANGLA.search(name) and bangla_font() is None:
        return f"Agent {agent_id}" if agent_id is not None else "Agent"
    return name


def _taka(amount: Decimal) -> str:
    return f"Tk {amount:,.0f}"


def _render(draw: Callable[[Figure], None], width: float, height: float) -> bytes:
    """Draw on a fresh figure (no pyplot state) and return it as PNG bytes."""
    family = bangla_font()
    fonts: dict[str, Any] = {"font.family": ["DejaVu Sans", family]} if family else {}
    with matplotlib.rc_context(fonts), warnings.catch_warnings():  # type: ignore[arg-type]
        warnings.simplefilter("ignore", UserWarning)  # "Glyph … missing from font(s)"
        fig = Figure(figsize=(width, height), layout="constrained")
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return buf.getvalue()


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _bars(
    ax: Axes, labels: Sequence[str], values: Sequence[float], color: str, fmt: str = "%g"
) -> None:
    if not labels:
        _no_data(ax)
        return
    positions = range(len(labels))
    bars = ax.bar(positions, values, color=color)
    ax.bar_label(bars, fmt=fmt, padding=2)
    ax.set_xticks(list(positions), list(labels), rotation=20, ha="right")
    ax.set_ylim(0, max([*values, 1]) * 1.2)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _paired_bars(
    ax: Axes,
    labels: Sequence[str],
    first: tuple[str, Sequence[float], str],
    second: tuple[str, Sequence[float], str],
) -> None:
    if not labels:
        _no_data(ax)
        return
    width = 0.4
    xs = list(range(len(labels)))
    top = 1.0
    for offset, (label, values, color) in ((-width / 2, first), (width / 2, second)):
        bars = ax.bar([x + offset for x in xs], values, width, label=label, color=color)
        ax.bar_label(bars, fmt="%g", padding=2)
        top = max(top, *values)
    ax.set_xticks(xs, list(labels), rotation=20, ha="right")
    ax.set_ylim(0, top * 1.25)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))


def daily_chart(summary: DailySummary) -> bytes:
    """The day's summary as a PNG: tasks per agent, message funnel, segment split."""
    return _render(lambda fig: _draw_daily(fig, summary), 12, 8)


def _draw_daily(fig: Figure, summary: DailySummary) -> None:
    inf = summary.influenced
    fig.suptitle(
        f"TrustCart {summary.day.isoformat()}: orders {summary.orders} ({_taka(summary.revenue)}),"
        f" influenced {inf.orders} ({_taka(inf.revenue)}) within {summary.attribution_days} days",
        fontsize=12,
    )
    tasks, funnel, priority, lifecycle = fig.subplots(2, 2).flat

    names = [display_name(a.agent_name, a.agent_id) for a in summary.agents]
    _paired_bars(
        tasks,
        names,
        ("generated", [a.generated for a in summary.agents], PLANNED),
        ("completed", [a.completed for a in summary.agents], DONE),
    )
    tasks.set_title("Tasks per agent")

    m = summary.messages
    _bars(funnel, [*FUNNEL, "failed"], [*(getattr(m, k) for k in FUNNEL), m.failed], PLANNED)
    funnel.patches[-1].set_color(ALERT)
    funnel.set_title("Messages")

    _bars(priority, list(summary.priority_split), list(summary.priority_split.values()), GREY)
    priority.set_title("Customers by priority")
    _bars(lifecycle, list(summary.lifecycle_split), list(summary.lifecycle_split.values()), GREY)
    lifecycle.set_title("Customers by lifecycle stage")


def team_chart(report: Sequence[AgentPerformance]) -> bytes:
    """A period's team performance as a PNG: calls, conversion and follow-up %, revenue."""
    return _render(lambda fig: _draw_team(fig, report), 12, 9)


def _draw_team(fig: Figure, report: Sequence[AgentPerformance]) -> None:
    if report:
        first, last = report[0].start, report[0].end
        fig.suptitle(f"TrustCart team {first.isoformat()} to {last.isoformat()}", fontsize=12)
    else:
        fig.suptitle("TrustCart team: no agents", fontsize=12)
    calls, rates, revenue = fig.subplots(3, 1)
    names = [display_name(a.agent_name, a.agent_id) for a in report]

    _paired_bars(
        calls,
        names,
        ("calls", [a.calls for a in report], PLANNED),
        ("ordered", [a.ordered for a in report], DONE),
    )
    calls.set_title("Calls")
    _paired_bars(
        rates,
        names,
        ("conversion %", [round(a.conversion_rate * 100, 1) for a in report], PLANNED),
        ("follow-up done %", [round(a.followup_completion_rate * 100, 1) for a in report], DONE),
    )
    rates.set_title("Conversion and follow-up completion (%)")
    _bars(revenue, names, [float(a.revenue_influenced) for a in report], DONE, "{:,.0f}")
    revenue.set_title("Revenue influenced (Tk)")
