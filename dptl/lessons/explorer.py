"""Sliders that scrub precomputed arrays and redraw a plotly FigureWidget.

An :class:`Explorer` owns a ``plotly.graph_objects.FigureWidget`` and a few
``ipywidgets.SelectionSlider`` controls. Every slider value is a point of a grid the lesson
precomputed, so a slider move only indexes arrays and assigns trace data inside one
``batch_update`` (one message to the browser): no training, no accounting in a callback.
``state`` holds the current slider values; :meth:`set` moves a control from code (the
latency benchmark and the tests drive the explorers this way).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

__all__ = ["Control", "Explorer", "drive", "fmt_eps"]


def fmt_eps(eps: float) -> str:
    return "∞" if eps == float("inf") else f"{eps:g}"


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
        self.slider = widgets.SelectionSlider(
            options=[(fmt(v), v) for v in self.values],
            value=initial,
            description=label or name,
            continuous_update=True,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="460px"),
        )

    @property
    def value(self):
        return self.slider.value


def _portable(figure):
    """Integer-valued x/y arrays as float64 with a 1e-12 relative offset.

    plotly.py stores integral values as int64, which the FigureWidget does not deliver to
    plotly.js intact (it then plots against the index); the invisible offset keeps them
    float64. Applied after every draw, inside the same batch update.
    """
    for trace in figure.data:
        for attr in ("x", "y"):
            value = getattr(trace, attr, None)
            if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
                setattr(trace, attr, value.astype(float) * (1 + 1e-12) + 1e-300)
    return figure


class Explorer:
    """A FigureWidget redrawn by ``draw(fig, state)`` whenever a control moves.

    ``draw`` must be cheap: it indexes precomputed arrays by the values in ``state`` and
    assigns trace properties. It runs inside ``fig.batch_update()``.
    """

    def __init__(
        self,
        figure: go.Figure,
        controls: Sequence[Control],
        draw: Callable[[go.FigureWidget, dict], None],
        *,
        caption: str = "",
    ):
        self.figure = _portable(go.FigureWidget(figure))
        self.controls = {c.name: c for c in controls}
        self._draw = draw
        self.caption = widgets.HTML(caption) if caption else None
        self.status = widgets.HTML()
        self.redraws = 0
        self.last_redraw_s = 0.0
        for c in controls:
            c.slider.observe(self._on_change, names="value")
        self.redraw()

    @property
    def state(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.redraw()

    def redraw(self) -> None:
        start = time.perf_counter()
        state = self.state
        with self.figure.batch_update():
            text = self._draw(self.figure, state)
            _portable(self.figure)
        if isinstance(text, str):
            self.status.value = text
        self.redraws += 1
        self.last_redraw_s = time.perf_counter() - start

    def set(self, **values) -> None:
        """Move controls from code, exactly as a learner's slider move would."""
        for name, value in values.items():
            if name not in self.controls:
                raise KeyError(f"no control {name!r}; controls: {list(self.controls)}")
            self.controls[name].slider.value = value

    def widget(self) -> widgets.Widget:
        parts = [c.slider for c in self.controls.values()]
        top = [widgets.HBox(parts, layout=widgets.Layout(flex_flow="row wrap"))]
        if self.caption is not None:
            top.insert(0, self.caption)
        return widgets.VBox([*top, self.figure, self.status])

    def _ipython_display_(self):  # pragma: no cover - display hook
        from IPython.display import display

        display(self.widget())


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
