"""``python -m upstack_pandas.emulator``: the same as ``upstack-pandas emulator``."""

from __future__ import annotations

from upstack_pandas.cli.emulator import main

if __name__ == "__main__":
    raise SystemExit(main())
