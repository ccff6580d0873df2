"""Sliders that scrub precomputed arrays and redraw a plotly FigureWidget.

An :class:`Explorer` owns a ``plotly.graph_objects.FigureWidget`` and a few
``ipywidgets.SelectionSlider`` controls. Every slider value is a point of a grid the lesson
precomputed, so a slider move only indexes arrays and assigns trace data inside one
``batch_update`` (one message to the browser): no training, no accounting in a callback.
``state`` holds the current slider values; :meth:`set` moves a control from code (the
latency benchmark and the tests drive the explorers this way).
"""

from __future__ import annotations

import json
import math
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

__all__ = [
    "Control",
    "Explorer",
    "distinct_style",
    "drive",
    "epsilon_axis",
    "figure_data",
    "fmt_eps",
    "shown_figures",
    "subplots",
]


def subplots(*, rows: int = 1, cols: int, titles: Sequence[str], **options) -> go.Figure:
    """``make_subplots`` with titles that fit their column at laptop widths.

    Each title is wrapped to about 30 characters per 450 px of column (a 2-column figure
    in a 900-px output) and set at 14 px, so neighbouring titles do not run into each
    other; the top margin and row spacing make room for the extra lines.
    """
    from plotly.subplots import make_subplots

    width = max(18, int(62 / cols))
    wrapped = ["<br>".join(textwrap.wrap(t, width)) for t in titles]
    lines = max(t.count("<br>") + 1 for t in wrapped)
    if rows > 1:
        options.setdefault("vertical_spacing", 0.12 + 0.03 * lines)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=wrapped, **options)
    fig.update_annotations(font_size=14)
    fig.update_layout(margin=dict(t=30 + 18 * lines))
    return fig


# Line and marker styles told apart where curves coincide: each filled marker is small
# enough for the next style's open ring to show around it.
_DISTINCT_STYLES = (
    ("solid", "circle", 9),
    ("dash", "circle-open", 14),
    ("dot", "square", 7),
    ("dashdot", "diamond", 9),
)


def distinct_style(i: int) -> dict:
    """``line`` and ``marker`` options for the i-th of several curves that may coincide
    (say two feature sets within 0.002 of each other): dashes and markers differ, so every
    curve stays visible under the others."""
    dash, symbol, size = _DISTINCT_STYLES[i % len(_DISTINCT_STYLES)]
    return dict(line=dict(dash=dash), marker=dict(symbol=symbol, size=size, line=dict(width=2)))


def fmt_eps(eps: float) -> str:
    return "∞" if eps == float("inf") else f"{eps:g}"


def epsilon_axis(fig: go.Figure, epsilons, **where) -> None:
    """A log x axis titled ε with a tick at each finite epsilon of the sweep, labelled in
    full (plotly's own log ticks label 0.2 and 0.5 as "2" and "5").

    Args:
        fig: the figure; ``where`` selects the axis (``row``, ``col``) as in
            ``update_xaxes``.
        epsilons: the sweep's epsilons (inf is left out).
    """
    ticks = [float(e) for e in epsilons if math.isfinite(e)]
    fig.update_xaxes(
        type="log", title_text="ε", tickvals=ticks, ticktext=[fmt_eps(t) for t in ticks], **where
    )


class Control:
    """A named slider over a fixed list of values (what the lesson precomputed)."""

    def __init__(
        self,
        name: str,
        values: Sequence,
        *,
        label: str | None = None,
        initial=None,
        fmt: Callable[[Any], str] = lambda v: f"{v:g}",
    ):
        if not values:
            raise ValueError(f"control {name!r} needs at least one value")
        self.name = name
        self.values = list(values)
        initial = self.values[len(self.values) // 2] if initial is None else initial
        if initial not in self.values:
            raise ValueError(f"initial value {initial!r} of {name!r} is not one of {self.values}")
        self.labels = [fmt(v) for v in self.values]
        self.slider = widgets.SelectionSlider(
            options=list(zip(self.labels, self.values, strict=True)),
            value=initial,
            description=label or name,
            continuous_update=True,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="460px"),
        )

    @property
    def value(self):
        return self.slider.value

    @property
    def label(self) -> str:
        """The current value as the slider shows it."""
        return self.labels[self.slider.index]


class Explorer:
    """A plotly ``FigureWidget`` redrawn by ``draw(fig, state)`` whenever a control moves.

    ``draw`` must be cheap: it indexes precomputed arrays by the values in ``state``,
    assigns trace properties of ``fig`` and may return the HTML shown under the figure.

    How the figure reaches the page, measured in the browser (benchmarks/lesson_latency.py):
    updating a FigureWidget in place (one ``batch_update``, a restyle in plotly.js) shows a
    move in about half the time of rendering the whole figure again into an Output widget.
    Two things make the widget right where it is seen: the first state is drawn into the
    plain figure before the widget exists (a FigureWidget updated before it is displayed
    reaches plotly.js without the trace properties that update did not touch, so traces
    were drawn against their index, unnamed), and once displayed it is asked to size
    itself to the page (plotly.js lays it out before it is attached, at 700 px).
    """

    def __init__(
        self,
        figure: go.Figure,
        controls: Sequence[Control],
        draw: Callable[[go.Figure, dict], str | None],
        *,
        caption: str = "",
    ):
        self.controls = {c.name: c for c in controls}
        self._draw = draw
        self.caption = widgets.HTML(caption) if caption else None
        self.status = widgets.HTML()
        first = go.Figure(figure)
        self._show(self._draw(first, self.state))
        self.figure = go.FigureWidget(first)
        self.figure._config = {**self.figure._config, "responsive": True}  # follow the page
        self.redraws = 1
        self.last_redraw_s = 0.0
        for c in controls:
            c.slider.observe(self._on_change, names="value")

    @property
    def state(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Draw the current state: one message to the page."""
        start = time.perf_counter()
        with self.figure.batch_update():
            text = self._draw(self.figure, self.state)
        self._show(text)
        self.redraws += 1
        self.last_redraw_s = time.perf_counter() - start

    def _show(self, text) -> None:
        if isinstance(text, str):
            self.status.value = text

    def set(self, **values) -> None:
        """Move controls from code, exactly as a learner's slider move would."""
        for name, value in values.items():
            if name not in self.controls:
                raise KeyError(f"no control {name!r}; controls: {list(self.controls)}")
            self.controls[name].slider.value = value

    def widget(self) -> widgets.Widget:
        # one slider per row: a long value (a setting's name) then never runs into the
        # next slider's label
        parts = [c.slider for c in self.controls.values()]
        top = [widgets.VBox(parts)]
        if self.caption is not None:
            top.insert(0, self.caption)
        return widgets.VBox([*top, self.figure, self.status])

    def _ipython_display_(self):  # pragma: no cover - display hook
        from IPython.display import display

        display(self.widget())
        # Sent after the display message, so it reaches the figure once it is on the page:
        # plotly.js then sizes it to the output's width.
        self.figure.layout.autosize = None
        self.figure.layout.autosize = True


def drive(explorer: Explorer, *, random_moves: int = 40, seed: int = 0) -> list[float]:
    """Move every control through all its values (up, then down), then make
    ``random_moves`` seeded random moves; return the seconds each redraw took.

    Moves go through the slider widgets, exactly as a learner's would.
    """
    import random

    times = []

    def move(control, value):
        if control.slider.value == value:
            return
        start = time.perf_counter()
        control.slider.value = value
        times.append(time.perf_counter() - start)

    for control in explorer.controls.values():
        initial = control.value
        for value in control.values + control.values[::-1]:
            move(control, value)
        move(control, initial)
    rng = random.Random(seed)
    controls = list(explorer.controls.values())
    for _ in range(random_moves):
        c = rng.choice(controls)
        move(c, rng.choice(c.values))
    return times


def figure_data(figure: go.Figure) -> list[dict]:
    """Each trace's type, name, x and y as plain JSON values (NaN as None)."""

    def plain(values):
        if values is None:
            return None
        out = []
        for v in np.asarray(values, dtype=object).ravel().tolist():
            if isinstance(v, (np.generic,)):
                v = v.item()
            if isinstance(v, float) and not np.isfinite(v):
                v = None  # plotly.js draws neither NaN nor inf: a gap
            out.append(v)
        return out

    traces = []
    for trace in figure.data:
        table = trace.type == "table"
        traces.append(
            {
                "type": trace.type,
                "name": trace.name,
                "x": None if table else plain(getattr(trace, "x", None)),
                "y": None if table else plain(getattr(trace, "y", None)),
            }
        )
    return traces


def shown_figures(out: dict) -> str:
    """JSON of the figures a notebook's cells displayed, in cell order.

    ``out`` is IPython's ``Out`` (execution count -> result): an :class:`Explorer` or a
    plotly figure a cell ended with. The browser test compares this with the page.
    """
    shown = []
    for count in sorted(out):
        value = out[count]
        if isinstance(value, Explorer):
            shown.append(
                {
                    "kind": "explorer",
                    "traces": figure_data(value.figure),
                    "controls": [c.label for c in value.controls.values()],
                    "sizes": [len(c.values) for c in value.controls.values()],
                }
            )
        elif isinstance(value, go.Figure):
            shown.append({"kind": "figure", "traces": figure_data(value)})
    return json.dumps(shown)
