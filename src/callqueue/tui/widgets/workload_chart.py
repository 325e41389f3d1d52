"""The coming workload: reminders falling due per week, stacked by section (textual-plotext)."""

from __future__ import annotations

from typing import Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from callqueue.reports.figures import WeekLoad

# One colour per section, legible on dark and light themes; the legend below uses the same.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 130, 200),
    (60, 180, 75),
    (245, 130, 48),
    (145, 30, 180),
    (230, 25, 75),
    (70, 200, 200),
    (170, 110, 40),
    (128, 128, 128),
)
TICK_EVERY = 4  # weeks between date labels: 26 labels of 5 cells do not fit 120 columns


class WorkloadChart(Vertical):
    """每周到期提醒：a stacked bar per week, one colour per section, and a legend."""

    DEFAULT_CSS = """
    WorkloadChart { height: 1fr; }
    WorkloadChart > #chart-title { height: 1; }
    WorkloadChart > PlotextPlot { height: 1fr; }
    WorkloadChart > #chart-legend { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's own name
        super().__init__(id=id)
        self.weeks: list[WeekLoad] = []
        """The weeks drawn, first the week of today."""
        self.sections: list[str] = []
        """The sections stacked, bottom first."""

    def compose(self) -> ComposeResult:
        """A title line, the plot, the legend."""
        yield Static(id="chart-title")
        yield PlotextPlot()
        yield Static(id="chart-legend")

    def show(self, weeks: list[WeekLoad], sections: list[str]) -> None:
        """Draw `weeks` with one stacked series per section (in the order given)."""
        self.weeks, self.sections = list(weeks), list(sections)
        total = sum(self.totals)
        title = Text(f"未来 {len(weeks)} 周工作量：每周到提醒日的提醒件数（按科室）", style="bold")
        if weeks:
            title.append(f" · 自 {weeks[0].week_start:%Y-%m-%d} 起共 {total} 件", style="")
        self.query_one("#chart-title", Static).update(title)
        legend = Text()
        for i, name in enumerate(self.sections):
            legend.append("██ ", style=_rich_colour(i))
            legend.append(name)
            legend.append(f" {sum(w.counts.get(name, 0) for w in weeks)}  ")
        self.query_one("#chart-legend", Static).update(legend)
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if weeks and self.sections:
            labels = [f"{w.week_start:%m-%d}" for w in weeks]
            series = [[w.counts.get(name, 0) for w in weeks] for name in self.sections]
            colours = [PALETTE[i % len(PALETTE)] for i in range(len(self.sections))]
            if len(series) == 1:
                plt.bar(labels, series[0], color=colours[0], width=0.6)
            else:
                # plotext takes one colour per series here; its type stub says a single colour.
                plt.stacked_bar(labels, series, color=cast(Any, colours), width=0.6)
            ticks = list(range(0, len(weeks), TICK_EVERY))
            plt.xticks([i + 1 for i in ticks], [labels[i] for i in ticks])
            # Whole reminders only: plotext would label a low chart 0.17, 0.33, ...
            top = max(max(self.totals), 1)
            step = -(-top // 5)
            plt.ylim(0, top)
            plt.yticks(list(range(0, top + 1, step)))
        plot.refresh()

    @property
    def totals(self) -> list[int]:
        """The reminders falling due in each week, all sections shown together."""
        return [sum(w.counts.get(name, 0) for name in self.sections) for w in self.weeks]


def _rich_colour(index: int) -> str:
    r, g, b = PALETTE[index % len(PALETTE)]
    return f"rgb({r},{g},{b})"
