"""Self-check cells for the exercises: compare an answer and print feedback, never raise.

An exercise cell defines ``answer = None`` (or a first attempt); the check cell calls
:func:`check`. Unanswered, it prints a hint; answered, it says whether the value is within
tolerance of the value the lesson computed. It prints its feedback and returns None, so the
cell shows nothing else; it never raises, so the notebooks run top to bottom unmodified in
CI.
"""

from __future__ import annotations

import math

__all__ = [
    "UndecidedError",
    "beyond_spread",
    "check",
    "check_choice",
    "decided_winner",
    "gap_rank_correlation",
    "is_decided",
    "pretraining_verdict",
]


def _close(answer: float, expected: float, rtol: float, atol: float) -> bool:
    return math.isclose(float(answer), float(expected), rel_tol=rtol, abs_tol=atol)


def check(
    answer, expected: float, *, rtol: float = 0.05, atol: float = 0.0, hint: str = ""
) -> None:
    """Print whether ``answer`` is within ``rtol``/``atol`` of ``expected``."""
    _verdict(answer, expected, rtol=rtol, atol=atol, hint=hint)


def check_choice(answer, expected, *, options=None, explanation: str = "") -> None:
    """Print whether a multiple-choice ``answer`` equals ``expected``."""
    _choice_verdict(answer, expected, options=options, explanation=explanation)


def _verdict(answer, expected: float, *, rtol: float, atol: float, hint: str) -> bool:
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


def _choice_verdict(answer, expected, *, options, explanation: str) -> bool:
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


class UndecidedError(ValueError):
    """A lesson's comparison is within the spread over seeds: no exercise or claim on it."""


def beyond_spread(difference: float, spread: float, *, margin: float = 2.0) -> bool:
    """Whether a difference of means is beyond ``margin`` times the seeds' spread (the sum
    of the two standard deviations) and at least half a point (0.005)."""
    return abs(difference) > max(margin * spread, 0.005)


def decided_winner(per_seed: dict, *, margin: float = 2.0) -> str:
    """The candidate with the highest mean over seeds, when the data decide it.

    Decided means: the best mean exceeds the runner-up's by more than ``margin`` times the
    sum of their standard deviations over seeds, and by at least 0.005 (half a point of
    accuracy). Lessons call this to grade exercises and to word claims, so that a changed
    cache cannot leave an exercise decided by noise.

    Args:
      per_seed: candidate name -> accuracies (or any score), one per seed.
      margin: how many (summed) standard deviations the lead must exceed.

    Returns the winner's name. Raises UndecidedError otherwise.
    """
    import numpy as np

    stats = {k: (float(np.mean(v)), float(np.std(v))) for k, v in per_seed.items()}
    ranked = sorted(stats, key=lambda k: -stats[k][0])
    best, second = ranked[0], ranked[1]
    lead = stats[best][0] - stats[second][0]
    spread = stats[best][1] + stats[second][1]
    if not beyond_spread(lead, spread, margin=margin):
        raise UndecidedError(
            f"{best} leads {second} by {lead:.4f}, within {margin:g} x the seeds' spread "
            f"({spread:.4f}) or half a point: the data do not decide it"
        )
    return best


def is_decided(per_seed: dict, *, margin: float = 2.0) -> str | None:
    """:func:`decided_winner`, or None when the data do not decide it."""
    try:
        return decided_winner(per_seed, margin=margin)
    except UndecidedError:
        return None


def gap_rank_correlation(gaps_by_quality) -> float:
    """The Spearman correlation between the features' rank and their privacy gap
    (non-private minus private accuracy), the gaps listed from the worst features to the
    best: -1 when the better the features, the smaller the gap, at every step."""
    import numpy as np
    from scipy.stats import spearmanr

    gaps = np.asarray(gaps_by_quality, dtype=float)
    return float(spearmanr(np.arange(len(gaps)), gaps).statistic)


def pretraining_verdict(rho: float) -> str:
    """The papers' "better pretraining shrinks the privacy gap", from
    :func:`gap_rank_correlation` (or its mean over cells): "holds" at rho <= -0.8, "partly
    holds" at rho < -0.2, else "does not hold". Lesson 2 and ``benchmarks/claims.py``'s
    claim (a) decide by this one rule."""
    return "holds" if rho <= -0.8 else "partly holds" if rho < -0.2 else "does not hold"
