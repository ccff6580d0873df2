"""``dp_accounting`` DpEvents as plain JSON, and back, without importing anything named in it.

``DpEvent.to_named_tuple`` gives a tree of fields; :func:`event_to_json` writes it as nested
dicts ``{"class_name": "GaussianDpEvent", "noise_multiplier": 1.2}``. :func:`event_from_json`
rebuilds an event only from the classes of ``dp_accounting.dp_event`` (looked up by name,
nothing imported from a module the file names), so reading a model file runs no code.
"""

from __future__ import annotations

from typing import Any

import dp_accounting as dpa
from dp_accounting import dp_event as dp_event_module

__all__ = ["event_from_json", "event_to_json"]


def event_to_json(event: dpa.DpEvent) -> dict[str, Any]:
    """A JSON-serialisable dict describing ``event`` (any ``dp_accounting.dp_event`` class)."""
    return _tuple_to_json(event.to_named_tuple())


def _tuple_to_json(value):
    if isinstance(value, dp_event_module.DpEventNamedTuple):
        fields = {f: _tuple_to_json(getattr(value, f)) for f in value._fields}
        fields.pop("module_name")
        return fields
    if isinstance(value, list | tuple):
        return [_tuple_to_json(v) for v in value]
    return value


def event_from_json(obj: Any) -> dpa.DpEvent:
    """The DpEvent described by ``obj`` (as :func:`event_to_json` wrote it).

    Raises:
        ValueError: ``obj`` names no ``dp_accounting.dp_event`` class or has wrong fields.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("class_name"), str):
        raise ValueError(f"a DpEvent must be a JSON object with a 'class_name', got {obj!r}")
    name = obj["class_name"]
    cls = getattr(dp_event_module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, dpa.DpEvent)):
        raise ValueError(f"{name!r} is not a dp_accounting DpEvent class")
    fields = {k: _field_from_json(v) for k, v in obj.items() if k != "class_name"}
    try:
        return cls(**fields)
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot rebuild {name} from {fields!r}: {err}") from None


def _field_from_json(value):
    if isinstance(value, dict) and "class_name" in value:
        return event_from_json(value)
    if isinstance(value, list):
        return [_field_from_json(v) for v in value]
    return value
