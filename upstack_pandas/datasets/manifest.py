"""The dataset's bookkeeping under ``_upstack/``: what it answers and what each window holds.

``_upstack/dataset.json`` holds the request (and its fingerprint) and the catalog entries of
its measures; ``_upstack/manifest/<pixel>.json`` holds, per window (``period``), the range it
covers, the request fingerprint, when it was fetched, its row count and whether it is settled
or provisional. Every file is written whole to a temporary file and renamed into place, so a
reader sees the old or the new version, never half of one. The ``_`` prefix keeps the folder
out of ``pd.read_parquet(path)`` and other hive readers.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from upstack_pandas.datasets.plan import DatasetRequest, Window

__all__ = [
    "FORMAT",
    "META_DIR",
    "PixelManifest",
    "load_dataset_info",
    "read_json",
    "write_dataset_info",
    "write_json_atomic",
]

META_DIR = "_upstack"
FORMAT = "upstack-dataset"
VERSION = 1


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_json(path: Path) -> Any:
    """The JSON in ``path`` (None when the file does not exist)."""
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); the dataset is damaged") from None


def load_dataset_info(root: Path) -> dict[str, Any] | None:
    """``_upstack/dataset.json`` of the dataset at ``root`` (None when there is none)."""
    info = read_json(root / META_DIR / "dataset.json")
    if info is None:
        return None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{root / META_DIR / 'dataset.json'} is not an upstack dataset file")
    if int(info.get("version", VERSION)) > VERSION:
        raise ValueError(
            f"{root} is an upstack dataset of format version {info['version']}; this "
            f"upstack-pandas reads up to version {VERSION}: upgrade it"
        )
    return info


def write_dataset_info(
    root: Path, request: DatasetRequest, measures: Mapping[str, Any]
) -> dict[str, Any]:
    """Write ``_upstack/dataset.json`` for a new dataset and return it."""
    info = {
        "format": FORMAT,
        "version": VERSION,
        "request": request.to_json(),
        "fingerprint": request.fingerprint,
        "partitioning": ["pixel", "period"],
        "period": "month",
        "measures": dict(measures),
        "createdAt": _dt.datetime.now(_dt.UTC).isoformat(),
    }
    write_json_atomic(root / META_DIR / "dataset.json", info)
    return info


class PixelManifest:
    """The windows of one pixel (``_upstack/manifest/<pixel>.json``), saved after each change.

    Parameters
    ----------
    root : path
        The dataset.
    pixel_id : str
    """

    def __init__(self, root: Path, pixel_id: str) -> None:
        self.path = root / META_DIR / "manifest" / f"{pixel_id}.json"
        self.pixel_id = pixel_id
        stored = read_json(self.path)
        self.windows: dict[str, dict[str, Any]] = dict((stored or {}).get("windows") or {})
        self.profile: str | None = (stored or {}).get("profile")

    def entry(self, period: str) -> dict[str, Any] | None:
        """The manifest entry of ``period``, or None."""
        return self.windows.get(period)

    def record(
        self,
        window: Window,
        *,
        fingerprint: str,
        fetched_at: str,
        rows: int,
        settled: bool,
        profile: str | None,
    ) -> None:
        """Record a window whose partition is in place, and save the manifest."""
        self.windows[window.period] = {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "fingerprint": fingerprint,
            "fetchedAt": fetched_at,
            "rows": rows,
            "status": "settled" if settled else "provisional",
        }
        if profile is not None:
            self.profile = profile
        self.save()

    def save(self) -> None:
        """Write the manifest (atomically)."""
        write_json_atomic(
            self.path,
            {
                "version": VERSION,
                "pixelId": self.pixel_id,
                "profile": self.profile,
                "windows": dict(sorted(self.windows.items())),
            },
        )
