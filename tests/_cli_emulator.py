"""Start ``upstack-pandas emulator --print-upstackrc`` in a child process and use what it prints.

The child's environment has no ``UPSTACK_*`` variable and a temporary ``HOME``; once the printed
``.upstackrc`` names every pixel it is written (0600) to the test's temporary folder and this
process is pointed at it (``UPSTACK_CONFIG``, every other ``UPSTACK_*`` variable but the cache
folder removed). The child is stopped on leaving.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

__all__ = ["printed_upstackrc"]


@contextlib.contextmanager
def printed_upstackrc(
    options: Sequence[str], pixels: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Yield the ``.upstackrc`` lines the emulator printed, with this process pointed at them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPSTACK_")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "upstack_pandas.cli", "emulator", "--port", "0", "--quiet",
         *options, "--print-upstackrc"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while len([x for x in lines if x.startswith("pixel_id")]) < pixels:
            assert time.monotonic() < deadline, lines
            line = proc.stdout.readline()
            assert line, f"emulator exited: {proc.stderr.read() if proc.stderr else ''}"
            lines.append(line.rstrip("\n"))
        rc = tmp_path / "rc"
        rc.write_text("\n".join(lines) + "\n", encoding="utf-8")
        rc.chmod(0o600)
        for name in list(os.environ):
            if name.startswith("UPSTACK_") and name != "UPSTACK_CACHE_DIR":
                monkeypatch.delenv(name)
        monkeypatch.setenv("UPSTACK_CONFIG", str(rc))
        yield lines
    finally:
        proc.terminate()
        proc.communicate(timeout=20)  # waits and closes the pipes
