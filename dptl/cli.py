"""``dptl`` command line: ``compare`` (every solver at every epsilon), ``extract`` (images to
features), ``train`` / ``predict`` / ``report`` (one private model: :mod:`dptl.model_cli`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

__all__ = ["main", "compare"]


def _epsilon(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"epsilon must be > 0 (or inf), got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def add_compare_parser(subparsers) -> argparse.ArgumentParser:
    from dptl.solvers.sweep import METHODS

    p = subparsers.add_parser(
        "compare",
        help="train every DP solver at every epsilon; print test accuracy and privacy spent",
        description="Train each DP last-layer solver (fixed default hyperparameters) at each "
        "epsilon for several seeds on a feature file and report test accuracy and the "
        "(epsilon, delta) spent. Neighbouring relation: add/remove one example.",
    )
    p.add_argument("--features", required=True, help="feature file (.npz, dptl format)")
    p.add_argument(
        "--epsilons",
        type=_epsilon,
        nargs="+",
        default=[0.1, 1.0, 8.0],
        help="target epsilons ('inf' for the non-private counterpart)",
    )
    p.add_argument("--delta", type=float, default=1e-5)
    p.add_argument("--seeds", type=_positive_int, default=3, help="runs per epsilon")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument(
        "--limit", type=_positive_int, default=None, help="use only the first N training rows"
    )
    p.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="root PRNG seed, for a reproducible run (teaching, reproduction; not for "
        "release). Default: a fresh secret key from the OS's entropy",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=compare)
    return p


def compare(args: argparse.Namespace) -> int:
    """Run the sweep of every method and print a table (or JSON)."""
    import jax

    from dptl.data import FeatureSet
    from dptl.privacy import NEIGHBOURING, SEEDED_WARNING, training_key
    from dptl.solvers.methods import defaults_for
    from dptl.solvers.sweep import privacy_utility

    fs = FeatureSet.load(args.features).astype("float32")
    root_key = training_key(args.seed)
    key_note = (
        "fresh secret key (OS entropy)"
        if args.seed is None
        else SEEDED_WARNING.format(seed=args.seed)
    )
    if args.limit is not None:
        fs = fs.subset(num_train=args.limit)
    rows = []
    for i, method in enumerate(args.methods):
        # a default batch larger than a small training set becomes full batch (public n)
        hp, note = defaults_for(method, fs.num_train)
        if note:
            print(f"{method}: {note}", file=sys.stderr)
        start = time.perf_counter()
        res = privacy_utility(
            method,
            jax.random.fold_in(root_key, i),
            fs.x_train,
            fs.y_train,
            fs.x_test,
            fs.y_test,
            epsilons=args.epsilons,
            num_seeds=args.seeds,
            delta=args.delta,
            num_classes=fs.num_classes,
            **hp,
        )
        seconds = time.perf_counter() - start
        for e, target in enumerate(res.epsilons):
            rows.append(
                {
                    "method": method,
                    "target_epsilon": float(target),
                    "accuracy_mean": float(res.mean[e]),
                    "accuracy_std": float(res.std[e]),
                    "spent_epsilon": res.privacy[e].epsilon,
                    "spent_delta": res.privacy[e].delta,
                    "accountant": res.privacy[e].accountant,
                    "noise_stds": res.privacy[e].noise_stds,
                    "sweep_seconds": seconds,
                }
            )
    if args.json:
        print(
            json.dumps(
                {
                    "features": args.features,
                    "num_train": fs.num_train,
                    "num_test": fs.num_test,
                    "seeds": args.seeds,
                    "seed": args.seed,
                    "key": key_note,
                    "neighbouring": NEIGHBOURING,
                    "results": rows,
                },
                indent=2,
                default=lambda v: None if math.isinf(v) else v,
            )
        )
        return 0
    print(f"{fs!r}; {args.seeds} runs per epsilon; neighbouring: {NEIGHBOURING}")
    print(f"noise key: {key_note}")
    print(
        f"{'method':<14}{'target eps':>11}{'test acc':>17}{'spent (eps, delta)':>24}{'sweep s':>9}"
    )
    for r in rows:
        acc = f"{100 * r['accuracy_mean']:.2f} ± {100 * r['accuracy_std']:.2f}%"
        spent = f"({r['spent_epsilon']:.4g}, {r['spent_delta']:.0e})"
        print(
            f"{r['method']:<14}{r['target_epsilon']:>11.4g}{acc:>17}{spent:>24}"
            f"{r['sweep_seconds']:>9.1f}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dptl", description="Differentially private transfer learning toolkit."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_compare_parser(sub)
    from dptl.features.cli import add_extract_parser

    add_extract_parser(sub)
    from dptl.model_cli import add_predict_parser, add_report_parser, add_train_parser

    add_train_parser(sub, _epsilon, _seed)
    add_predict_parser(sub)
    add_report_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError) as err:
        print(f"dptl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
