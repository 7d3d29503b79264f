#!/usr/bin/env python3
"""Capture ``liqcli watch`` as a person sees it and put the screens into docs/watch.md.

    python scripts/gen_watch_screens.py [--check]

Starts a throwaway redis-server, ingests a reproducible sample (three exchanges, the last two
hours, a few large liquidations), runs the real ``liqcli watch`` in a pseudo-terminal of
80×24, 60×20 and 160×50 (tests/terminal.py: pty + the pyte terminal emulator) and replaces the
text between ``<!-- screen: COLSxROWS -->`` and ``<!-- /screen -->`` in docs/watch.md. Times on
the screens are those of the run. ``--check`` only verifies that every size still shows every
section (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import re
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "watch.md"
SIZES = ((80, 24), (60, 20), (160, 50))
TITLES = ("Totals", "Long vs short", "By exchange", "Exchange × side", "Recent liquidations")


def sample(now: int) -> list[object]:
    from event_factory import random_events

    from liqcli.model import Event, default_usd

    events: list[object] = list(random_events(
        7, 400, newest=now - 2000, span_ms=2 * 3_600_000, exchanges=("binance", "bybit", "okx")))
    for index, (usd, exchange, side) in enumerate((
        ("1250000", "binance", "LONG"), ("240000", "bybit", "SHORT"), ("120000", "okx", "LONG"),
        ("64000", "binance", "SHORT"),
    )):
        price = Decimal("97000")
        qty = (Decimal(usd) / price).quantize(Decimal("0.001"))
        events.append(Event(exchange=exchange, symbol="BTCUSDT", side=side,  # type: ignore[arg-type]
                            price=price, qty=qty, usd=default_usd(price, qty),
                            ts_ms=now - 40_000 * (index + 1), id=f"big-{index}"))
    return events


def capture(url: str, cols: int, rows: int) -> list[str]:
    from terminal import Terminal

    term = Terminal(url, "-n", "1", cols=cols, rows=rows)
    try:
        term.wait_for(lambda t: all(x in t.text for x in TITLES) and "Change since" in t.text,
                      "every section")
        term.wait_for(lambda t: "Change since previous refresh (" in t.text, "a second refresh")
        lines = list(term.lines)
        term.interrupt()
        term.wait()
    finally:
        term.kill()
    while lines and not lines[-1]:
        lines.pop()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import redis

    from liqcli.report.timeparse import now_ms
    from liqcli.store.local import RedisServer
    from liqcli.store.store import Store

    server = RedisServer()
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        Store(client).ingest(sample(now_ms()))  # type: ignore[arg-type]
        client.close()
        screens = {f"{c}x{r}": capture(server.url, c, r) for c, r in SIZES}
    finally:
        server.cleanup()
    if args.check:
        return 0
    text = DOC.read_text()
    for name, lines in screens.items():
        body = "\n".join(lines) + "\n"
        text, found = re.subn(
            rf"(<!-- screen: {name} -->\n```text\n)[^`]*?(```\n<!-- /screen -->)",
            lambda m, body=body: m.group(1) + body + m.group(2), text, flags=re.S,
        )
        if not found:
            print(f"docs/watch.md has no <!-- screen: {name} --> block", file=sys.stderr)
            return 1
    DOC.write_text(text)
    print(f"wrote {len(screens)} screens into {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
