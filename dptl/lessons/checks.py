"""Self-check cells for the exercises: compare an answer and print feedback, never raise.

An exercise cell defines ``answer = None`` (or a first attempt); the check cell calls
:func:`check`. Unanswered, it prints a hint; answered, it says whether the value is within
tolerance of the value the lesson computed. It never raises, so the notebooks run top to
bottom unmodified in CI.
"""

from __future__ import annotations

import math

__all__ = ["check", "check_choice"]


def _close(answer: float, expected: float, rtol: float, atol: float) -> bool:
    return math.isclose(float(answer), float(expected), rel_tol=rtol, abs_tol=atol)


def check(
    answer, expected: float, *, rtol: float = 0.05, atol: float = 0.0, hint: str = ""
) -> bool:
    """Print whether ``answer`` is within ``rtol``/``atol`` of ``expected``; return it."""
    if answer is None or answer is Ellipsis:
        print("No answer yet: replace `None` in the exercise cell and run both cells again.")
        if hint:
            print("Hint:", hint)
        return False
    try:
        value = float(answer)
    except (TypeError, ValueError):
        print(f"Expected a number, got {answer!r}.")
        return False
    if _close(value, expected, rtol, atol):
        print(f"Correct: {value:.4g} (the lesson computes {expected:.4g}).")
        return True
    print(f"Not quite: you have {value:.4g}.", ("Hint: " + hint) if hint else "")
    return False


def check_choice(answer, expected, *, options=None, explanation: str = "") -> bool:
    """Print whether a multiple-choice ``answer`` equals ``expected``; return it."""
    if answer is None or answer is Ellipsis:
        opts = f" Options: {list(options)}." if options is not None else ""
        print("No answer yet: set `answer` in the exercise cell." + opts)
        return False
    if options is not None and answer not in options:
        print(f"{answer!r} is not one of the options {list(options)}.")
        return False
    if answer == expected:
        print("Correct.", explanation)
        return True
    print(f"Not quite: {answer!r}.", "Look at the figure again and reason from the mechanism.")
    return False
