"""Run every benchmark, print a table and write JSON (see benchmarks/README.md).

    python benchmarks/run.py            # full run (1M events; a few minutes)
    python benchmarks/run.py --quick    # smoke run with small sizes

Each ``benchmarks/bench_*.py`` module listed in MODULES that is present exposes
``run(quick: bool) -> list[dict]`` returning rows of the shape in ROW_KEYS.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "latest.json"
MODULES = ("bench_store", "bench_market", "bench_startup", "bench_embedded", "bench_prune",
           "bench_oneshot", "bench_timedim")
ROW_KEYS = ("benchmark", "case", "value", "unit", "baseline", "ratio", "target", "met")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--only", action="append", choices=MODULES, metavar="MODULE",
                        help=f"run only this module (repeatable): {', '.join(MODULES)}")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--fail-on-miss", action="store_true",
                        help="exit 1 when a row misses its target")
    return parser.parse_args(argv)


def collect(modules: Sequence[str], quick: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of every present module, in order, and the modules that failed.

    A missing module (or one without ``run``) is skipped with a note; a failing one is reported
    and the others still run.
    """
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in modules:
        if not (HERE / f"{name}.py").is_file():
            print(f"[run] {name}.py not present: skipped", file=sys.stderr)
            continue
        try:
            module = importlib.import_module(name)
            if not callable(getattr(module, "run", None)):
                print(f"[run] {name}.py has no run(quick): skipped", file=sys.stderr)
                continue
            rows.extend(check_row(result, name) for result in module.run(quick=quick))
        except Exception:
            traceback.print_exc()
            print(f"[run] {name} FAILED (its rows are missing)", file=sys.stderr)
            failed.append(name)
    return rows, failed


def check_row(result: dict[str, Any], module: str) -> dict[str, Any]:
    missing = [key for key in ROW_KEYS if key not in result]
    if missing:
        raise ValueError(f"{module}: row {result!r} lacks {', '.join(missing)}")
    return {key: result[key] for key in ROW_KEYS}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_table(rows: Sequence[dict[str, Any]]) -> str:
    from tabulate import tabulate

    body = [[_cell(r[key]) for key in ROW_KEYS] for r in rows]
    return tabulate(body, headers=list(ROW_KEYS), disable_numparse=True,
                    colalign=("left", "left", "right", "left", "right", "right", "left", "left"))


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def write_json(rows: Sequence[dict[str, Any]], path: Path, *, quick: bool, seconds: float,
               failed: Sequence[str] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "failed": list(failed),
        "rows": list(rows),
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def ensure_environment(argv: Sequence[str] | None = None) -> None:
    """Run in the project's environment: a plain ``python benchmarks/run.py`` outside the venv
    (no liqcli, redis or tabulate) re-runs itself with the checkout's ``.venv/bin/python``;
    without one, one line says what to do (before any benchmark runs)."""
    import importlib.util

    missing = [name for name in ("liqcli", "redis", "tabulate")
               if importlib.util.find_spec(name) is None]
    if not missing:
        return
    venv_python = HERE.parent / ".venv" / "bin" / "python"
    in_venv = Path(sys.prefix).resolve() == venv_python.parent.parent.resolve()
    if venv_python.exists() and not in_venv:
        args = list(sys.argv[1:] if argv is None else argv)
        os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *args])
    sys.exit(f"benchmarks/run.py: {', '.join(missing)} not importable by {sys.executable}; "
             "create the project's venv first: python3 -m venv .venv && "
             ".venv/bin/pip install -e '.[test]'")


def main(argv: Sequence[str] | None = None) -> int:
    ensure_environment(argv)
    args = parse_args(argv)
    started = time.perf_counter()
    rows, failed = collect(args.only or MODULES, args.quick)
    seconds = time.perf_counter() - started
    print(render_table(rows))
    write_json(rows, args.json, quick=args.quick, seconds=seconds, failed=failed)
    print(f"[run] {len(rows)} rows in {seconds:.0f} s; JSON: {args.json}", file=sys.stderr)
    if failed or (args.fail_on_miss and any(r["met"] is False for r in rows)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
