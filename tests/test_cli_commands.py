"""The first-party command tree: confirmation (pty, --yes, non-TTY refusal), --from-file, --out.

Mutations run as subprocesses against a private emulator, with a pseudo-terminal as stdin
where the prompt is exercised; HOME, XDG_CACHE_HOME and UPSTACK_CONFIG are temporary.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import upstack_pandas as up
from upstack_pandas.cli import main
from upstack_pandas.emulator.http.server import Emulator

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-26T12:00:00Z"


@pytest.fixture(scope="module")
def private_emulator() -> Iterator[Emulator]:
    """An emulator of its own: these tests rename the account and change costs."""
    with Emulator(now=NOW) as emu:
        yield emu


@pytest.fixture
def cli_env(private_emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("UPSTACK_") and key not in ("HOME", "XDG_CACHE_HOME")
    }
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        UPSTACK_CONFIG=str(tmp_path / "upstackrc"),
        UPSTACK_API_KEY=private_emulator.api_key,
        UPSTACK_PIXEL_ID=private_emulator.pixel_id,
        UPSTACK_BASE_URL=private_emulator.url,
        PYTHONPATH=str(ROOT),
    )
    return env


def run(
    argv: list[str], env: dict[str, str], cwd: Path, answer: str | None = None
) -> tuple[int, str]:
    """Run the CLI; with ``answer``, stdin is a pseudo-terminal that types it."""
    command = [sys.executable, "-m", "upstack_pandas.cli", *argv]
    if answer is None:
        done = subprocess.run(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode() + b"\n")
        done = subprocess.run(
            command,
            env=env,
            cwd=cwd,
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    return done.returncode, done.stdout + done.stderr


def account_name(emulator: Emulator) -> str:
    with emulator.client(cache=False) as client:
        return up.account.get(client=client).name


def test_rename_asks_on_a_terminal_and_declining_changes_nothing(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    before = account_name(private_emulator)
    code, out = run(["account", "rename", "--name", "Declined Co"], cli_env, tmp_path, "n")
    assert code == 1, out
    assert f"Rename the account: {before!r} -> 'Declined Co'." in out
    assert "Proceed? [y/N]" in out and "Cancelled: nothing was changed." in out
    assert account_name(private_emulator) == before


def test_rename_proceeds_when_the_terminal_answers_yes(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    code, out = run(["account", "rename", "--name", "Typed Yes Co"], cli_env, tmp_path, "y")
    assert code == 0, out
    assert "Proceed? [y/N]" in out and "Renamed the account to 'Typed Yes Co'" in out
    assert account_name(private_emulator) == "Typed Yes Co"


def test_mutation_without_a_terminal_refuses_with_a_hint(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    before = account_name(private_emulator)
    code, out = run(["account", "rename", "--name", "Piped Co"], cli_env, tmp_path)
    assert code == 1
    error = [line for line in out.splitlines() if "error:" in line]
    assert error == [
        "upstack-pandas account: error: this changes your account and stdin is not a "
        "terminal to confirm it; pass --yes to go ahead"
    ]
    assert "Proceed?" not in out
    assert account_name(private_emulator) == before


def test_yes_skips_the_question(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    code, out = run(
        ["costs", "global-override", "set", "--handling-fee", "1.25", "-y"], cli_env, tmp_path
    )
    assert code == 0, out
    assert "Proceed?" not in out
    assert json.loads(out[out.index("{") :])["globalHandlingFee"] == 1.25
    with private_emulator.client(cache=False) as client:
        assert up.costs.global_product_override(client=client)["globalHandlingFee"] == 1.25


def test_cost_line_update_and_delete_need_no_type(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with private_emulator.client(cache=False) as client:
        line = up.costs.add_line("variable", {"name": "Ads fee", "type": "pct_ad_spend",
                                              "percentRate": 2}, client=client)  # fmt: skip
    (tmp_path / "change.json").write_text('{"percentRate": 3.5}', encoding="utf-8")
    code, out = run(
        ["costs", "lines", "update", line["id"], "--from-file", "change.json", "--yes"],
        cli_env,
        tmp_path,
    )
    assert code == 0, out
    assert out.startswith(f"Update variable cost line {line['id']}: percentRate.\n")
    assert json.loads(out.split("\n", 1)[1])["percentRate"] == 3.5
    code, out = run(["costs", "lines", "delete", line["id"]], cli_env, tmp_path)
    assert code == 1 and "pass --yes" in out  # the type was found, then the usual refusal
    assert out.startswith(f"Delete variable cost line {line['id']}.")
    code, out = run(["costs", "lines", "delete", line["id"], "--yes"], cli_env, tmp_path)
    assert code == 0 and out.endswith(f"Deleted variable cost line {line['id']}\n"), out
    code, out = run(["costs", "lines", "delete", line["id"], "--yes"], cli_env, tmp_path)
    assert code == 1
    assert out.strip() == (
        f"upstack-pandas costs: error: no cost line has the id {line['id']!r}; "
        "Hint: take ids from up.costs.lines() (upstack-pandas costs show)"
    )


def test_products_search_cursor_reads_one_page(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with private_emulator.client(cache=False) as client:
        every = up.products.search(client=client)
    code, out = run(["products", "search", "--cursor", "--page-size", "2", "--json"], cli_env,
                    tmp_path)  # fmt: skip
    assert code == 0, out
    first = json.loads(out)
    assert [v["variantId"] for v in first["variants"]] == every["variantId"].tolist()[
        : len(first["variants"])
    ]
    assert len({v["productId"] for v in first["variants"]}) == 2
    code, out = run(["products", "search", "--cursor", first["nextCursor"], "--page-size", "2"],
                    cli_env, tmp_path)  # fmt: skip
    assert code == 0, out
    table, cursor_line = out.rstrip("\n").rsplit("\n", 1)
    following = every.iloc[len(first["variants"]) :]
    third = sorted(set(following["productId"]))[:2]
    assert table.count("prd_") == int(following["productId"].isin(third).sum())
    assert cursor_line.startswith("next cursor: ") and cursor_line != "next cursor: "
    code, out = run(["products", "search", "--cursor", "bogus", "--json"], cli_env, tmp_path)
    assert code == 1 and "cursor" in out


def test_declined_delete_keeps_the_view(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    with private_emulator.client(cache=False) as client:
        view = up.dashboards.build("keep me", ["meta.cpm"], client=client)
        code, out = run(["dashboard", "view", "delete", view.id], cli_env, tmp_path, "no")
        assert code == 1, out
        assert view.id in up.dashboards.list(client=client).index
        code, out = run(["dashboard", "view", "delete", view.id, "--yes"], cli_env, tmp_path)
        assert code == 0, out
        assert view.id not in up.dashboards.list(client=client).index


def test_query_flags_override_from_file_and_out_json(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "q.json").write_text(
        json.dumps(
            {
                "measures": "orders.orders",
                "granularity": "week",
                "dateRange": {"start": "2026-11-01", "end": "2026-11-30"},
            }
        )
    )
    argv = ["query", "--from-file", "q.json", "--date-end", "2026-11-07", "--out", "q.json.json"]
    code, out = run(argv, cli_env, tmp_path)
    assert code == 0, out
    records = json.loads((tmp_path / "q.json.json").read_text())
    with private_emulator.client(cache=False) as client:
        expected = up.read_upstack(
            "orders.orders", "2026-11-01", "2026-11-07", granularity="week", client=client
        )
    assert [r["orders.orders"] for r in records] == expected["orders.orders"].tolist()
    got = pd.to_datetime([r["dt"] for r in records], utc=True)
    assert list(got) == list(expected.index)


def test_start_end_are_aliases_of_date_start_end(cli_env: dict[str, str], tmp_path: Path) -> None:
    common = ["query", "-m", "orders.orders", "--json", "--no-compare"]
    new = run(
        [*common, "--date-start", "2026-11-01", "--date-end", "2026-11-03"], cli_env, tmp_path
    )
    old = run([*common, "--start", "2026-11-01", "--end", "2026-11-03"], cli_env, tmp_path)
    assert new == old and new[0] == 0 and len(json.loads(new[1])) == 3


def test_from_file_unknown_option_is_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"measures": ["orders.orders"], "colour": "red"}')
    code, out = run(["query", "--from-file", "bad.json"], cli_env, tmp_path)
    assert code == 1
    assert out.strip().splitlines() == [
        "upstack-pandas query: error: --from-file bad.json: unknown option(s) colour; known: "
        "compare, date_end, date_start, dimensions, filter, granularity, measures, "
        "order_settings, timezone, view_filters"
    ]


def test_profile_selects_the_config_section(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    config = Path(cli_env["UPSTACK_CONFIG"])
    config.write_text(
        f"[staging]\napi_key = {private_emulator.api_key}\npixel_id = {private_emulator.pixel_id}\n"
        f"base_url = {private_emulator.url}\n"
    )
    env = {
        k: v
        for k, v in cli_env.items()
        if k not in ("UPSTACK_API_KEY", "UPSTACK_PIXEL_ID", "UPSTACK_BASE_URL")
    }
    code, out = run(["measures", "--search", "cpm", "--profile", "staging"], env, tmp_path)
    assert code == 0, out
    assert "meta.cpm" in out
    code, out = run(["measures", "--profile", "nope"], env, tmp_path)
    assert code == 1 and "profile [nope]" in out and len(out.strip().splitlines()) == 1


def test_missing_scope_is_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    from upstack_pandas.emulator.http.server import derive_key

    env = {**cli_env, "UPSTACK_API_KEY": derive_key("analytics_read")}
    code, out = run(["costs", "show"], env, tmp_path)
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("upstack-pandas costs: error: "), out
    assert "costs:read" in lines[0]
    assert derive_key("analytics_read") not in out


def test_every_command_group_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    tree = {
        "measures": "--search",
        "filters": "--detail",
        "query-cohort": "--date-start",
        "attribution": "--model",
        "channel-details": "--level",
        "dashboard": "view",
        "account": "settings",
        "costs": "global-override",
        "products": "handling-fee",
        "events": "send",
    }
    for command, needle in tree.items():
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert needle in capsys.readouterr().out, command
    for nested in (
        ["dashboard", "view", "--help"],
        ["account", "settings", "order", "--help"],
        ["costs", "lines", "--help"],
        ["products", "cogs", "--help"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(nested)
        assert exit_info.value.code == 0


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["costs", "shipping", "set", "--method", "by_pigeon"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'by_pigeon'" in capsys.readouterr().err


def test_import_is_cheap() -> None:
    code = (
        "import sys, upstack_pandas.cli; "
        "heavy = [m for m in ('upstack_pandas.emulator', 'matplotlib', 'duckdb') if m in sys.modules]; "
        "print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == "[]"


def test_attribution_passes_order_settings_and_view_filters(
    private_emulator: Emulator, cli_env: dict[str, str], tmp_path: Path
) -> None:
    settings = {"countPendingOrders": True, "countVoidedOrders": True}
    view_filters = [{"field": "orders.country", "op": "equals", "value": "US"}]
    argv = [
        "attribution",
        "--date-start",
        "2026-11-01",
        "--date-end",
        "2026-11-07",
        "--order-settings",
        json.dumps(settings),
        "--view-filters",
        json.dumps(view_filters),
        "--json",
    ]
    code, out = run(argv, cli_env, tmp_path)
    assert code == 0, out
    got = pd.DataFrame(json.loads(out)).set_index("utm_source")
    with private_emulator.client(cache=False) as client:
        expected = up.read_attribution(
            "utm_source",
            "2026-11-01",
            "2026-11-07",
            order_settings=settings,
            view_filters=view_filters,
            client=client,
        )
        plain = up.read_attribution("utm_source", "2026-11-01", "2026-11-07", client=client)
    assert got["attribution.revenue"].tolist() == expected["attribution.revenue"].tolist()
    assert not expected["attribution.revenue"].equals(plain["attribution.revenue"])
