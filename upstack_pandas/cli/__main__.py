"""``python -m upstack_pandas.cli``: the same as the ``upstack-pandas`` command."""

from __future__ import annotations

from upstack_pandas.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
