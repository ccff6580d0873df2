"""dptl's archive files: NumPy ``.npz`` members plus one JSON header, never pickles.

Feature files (:class:`dptl.data.FeatureSet`) and model files (:mod:`dptl.model`) are both
a zip of ``.npy`` arrays written with ``allow_pickle=False`` and a ``__dptl__`` member: the
UTF-8 JSON header, a uint8 array. Reading one runs no code: ``np.load(allow_pickle=False)``
refuses object arrays and the header is plain JSON. Writing is atomic (temp file + rename)
and byte-for-byte deterministic (fixed zip timestamps), so the same content gives the same
file. Every member carries the zip's CRC; the header carries a SHA-256 of the arrays.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["HEADER_MEMBER", "arrays_sha256", "read_archive", "write_archive"]

HEADER_MEMBER = "__dptl__"


def arrays_sha256(arrays: Mapping[str, np.ndarray], extra: bytes = b"") -> str:
    """SHA-256 over the arrays in their order (name, dtype, shape and bytes), then ``extra``."""
    h = hashlib.sha256()
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    h.update(extra)
    return h.hexdigest()


def write_archive(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    header: Mapping[str, Any],
    *,
    compress: bool = False,
) -> None:
    """Write ``arrays`` and the JSON ``header`` to ``path`` atomically, readable by all.

    Args:
        path: the ``.npz`` file to (over)write; missing parent folders are made.
        arrays: member name -> array (numeric dtypes; object arrays are refused).
        header: JSON-serialisable mapping stored as the ``__dptl__`` member.
        compress: deflate the members (smaller, slower to read).
    """
    path = Path(path)
    blob = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", method, allowZip64=True) as zf:
            for name, arr in {**arrays, HEADER_MEMBER: blob}.items():
                info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = method
                with zf.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these files are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_archive(
    path: str | os.PathLike,
    *,
    format_name: str,
    version: int | tuple[int, ...],
    members: Sequence[str],
    what: str,
    error: type[ValueError],
    missing_hint: str = "",
    optional: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check an archive of format ``format_name`` / ``version``.

    Args:
        path: the file.
        format_name, version: what the header's "format" and "version" must say (a tuple:
            the versions this dptl reads).
        members: the arrays the file must hold (returned in this order).
        optional: arrays returned too where the file holds them.
        what: the kind of file in error messages ("dptl feature file").
        error: the exception raised for a corrupt, foreign or inconsistent file.
        missing_hint: appended to the message when the file does not exist.

    Returns:
        (header, arrays): the parsed JSON header (a dict) and the member arrays.

    Raises:
        FileNotFoundError: no such file.
        error: anything else wrong, with a message naming it.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist{missing_hint}")
    if not zipfile.is_zipfile(path):
        raise error(f"{path} is not a {what}: it is not an .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as npz:
            found = set(npz.files)
            if HEADER_MEMBER not in found:
                raise error(
                    f"{path} is not a {what} (no {HEADER_MEMBER!r} header member); "
                    f"members found: {sorted(found)}"
                )
            blob = bytes(npz[HEADER_MEMBER])
            missing = [m for m in members if m not in found]
            arrays = {m: npz[m] for m in (*members, *optional) if m in found}
    except error:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as err:
        raise error(f"{path} is corrupt or not an .npz {what}: {err}") from None
    try:
        header = json.loads(blob.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise error(f"{path}: the {HEADER_MEMBER!r} header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise error(
            f"{path}: the {HEADER_MEMBER!r} header must be a JSON object, "
            f"got a {type(header).__name__}"
        )
    if header.get("format") != format_name:
        raise error(
            f"{path} is not a {what}: its format is {header.get('format')!r}, "
            f"expected {format_name!r}"
        )
    versions = version if isinstance(version, tuple) else (version,)
    if header.get("version") not in versions:
        raise error(
            f"{path} is {format_name} version {header.get('version')!r}; "
            f"this dptl reads version {' or '.join(map(str, versions))}"
        )
    if missing:
        raise error(f"{path} lacks the arrays {missing}")
    return header, arrays
