"""``liqcli alert`` (live, or ``--replay`` over history) and ``liqcli check`` (cron): rules from
options or a TOML file, evaluated by :class:`liqcli.report.alerts.AlertEngine` (pure); this
module reads events, prints each firing as one ndjson line and runs ``--exec`` (docs/alerts.md).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from liqcli.cli import wanted
from liqcli.cli.app import app, errors_handled
from liqcli.cli.options import Debug, Prefix, RedisUrl
from liqcli.cli.report_options import (
    AllSymbols,
    Exchanges,
    Since,
    Symbols,
    Until,
    gathered_command,
)

if TYPE_CHECKING:
    from liqcli.report.alerts import Firing, Rule

RULES_PANEL = "Rules"
RUN_PANEL = "Alert"
CHECK_ERROR = 5  # check: an unexpected error (1 means "fired" for check)
DEFAULT_EXEC_TIMEOUT = 30.0

ALERT_HELP = (
    "Alert on liquidations: each firing of a rule is one JSON line on stdout (rule, symbol, "
    "exact figures, first/last event time), flushed; --exec CMD also gets it on its stdin.\n\n"
    "Rules: --single USD (one liquidation ≥ USD), --sum USD/WINDOW[/PER] (USD sum within a "
    "trailing window; PER = side, exchange or exchange+side), --cascade N/WINDOW[/USD] (≥ N "
    "liquidations of one side within the window), --spike FACTOR[/BASELINE[/MIN_USD]] (USD of "
    "the minute ≥ FACTOR × the median minute of the baseline), or --rules FILE (TOML, "
    "docs/alerts.md). Windows are event time, so a live run and --replay fire alike.\n\n"
    "Live (default): follows the store from now (with --since: replays from then first). "
    "--replay --since T [--until U]: prints what a live run would have fired in [T, U), in "
    "order, and exits."
)
ALERT_HELP = ALERT_HELP.replace("[", "\\[")  # rich markup: brackets are literal here
CHECK_HELP = (
    "Cron/monitoring check: evaluates the alert rules over the stored events of [--since, "
    "--until) (--since required; until: now) and prints the firings as JSON lines, like "
    "alert --replay. Exit status: 0 nothing "
    "fired, 1 something fired, 2 usage error, 3 store unreachable, 5 unexpected error."
)

CHECK_HELP = CHECK_HELP.replace("[", "\\[")

RulesFile = Annotated[
    Path | None,
    typer.Option("--rules", metavar="FILE", help="Rules file (TOML, docs/alerts.md).",
                 rich_help_panel=RULES_PANEL, dir_okay=False),
]
Single = Annotated[
    list[str] | None,
    typer.Option("--single", metavar="USD", help="One liquidation of at least USD.",
                 rich_help_panel=RULES_PANEL),
]
Sum = Annotated[
    list[str] | None,
    typer.Option("--sum", metavar="USD/WINDOW[/PER]",
                 help="USD summed over a trailing window ≥ USD (5000000/5m; PER: side, "
                 "exchange, exchange+side).", rich_help_panel=RULES_PANEL),
]
Cascade = Annotated[
    list[str] | None,
    typer.Option("--cascade", metavar="N/WINDOW[/USD]",
                 help="≥ N liquidations of one side within WINDOW (20/30s).",
                 rich_help_panel=RULES_PANEL),
]
Spike = Annotated[
    list[str] | None,
    typer.Option("--spike", metavar="FACTOR[/BASELINE[/MIN_USD]]",
                 help="USD of the minute ≥ FACTOR × median minute of BASELINE (5/60m/100000).",
                 rich_help_panel=RULES_PANEL),
]
Cooldown = Annotated[
    str | None,
    typer.Option("--cooldown", metavar="DURATION",
                 help="Suppress a rule's re-firing (same symbol and group) for this long, in "
                 "event time (overrides the rules file's).", rich_help_panel=RULES_PANEL),
]
Exec = Annotated[
    str | None,
    typer.Option("--exec", metavar="CMD",
                 help="Run CMD (through /bin/sh) for each firing, the alert JSON on its stdin; "
                 "its stdout goes to stderr; a failure is reported, never fatal.",
                 rich_help_panel=RUN_PANEL),
]
ExecTimeout = Annotated[
    float,
    typer.Option("--exec-timeout", metavar="SECONDS", min=0.1,
                 help="Kill an --exec command running longer than this.",
                 rich_help_panel=RUN_PANEL),
]


def load_rules(
    rules_file: Path | None, single: list[str] | None, sums: list[str] | None,
    cascades: list[str] | None, spikes: list[str] | None, cooldown: str | None,
) -> list[Rule]:
    """Rules from the file and the options (file first), checked; UsageError otherwise."""
    from liqcli.errors import UsageError
    from liqcli.report.alerts import check_rules, parse_rules_toml, rule_from_option
    from liqcli.report.timeparse import parse_duration

    cooldown_ms = (
        None if cooldown is None
        else parse_duration(cooldown, option="--cooldown", zero_ok=True)
    )
    rules: list[Rule] = []
    if rules_file is not None:
        try:
            text = rules_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--rules {rules_file}: {exc}") from None
        rules.extend(parse_rules_toml(text, cooldown_ms=cooldown_ms))
    for kind, specs in (("single", single), ("sum", sums), ("cascade", cascades),
                        ("spike", spikes)):
        for spec in specs or ():
            rules.append(rule_from_option(kind, spec, cooldown_ms=cooldown_ms or 0))
    check_rules(rules)
    return rules


class Output:
    """Prints firings (one flushed JSON line each) and runs ``--exec`` on a worker thread, in
    order, so a slow command never delays the next line."""

    def __init__(self, command: str | None, timeout: float) -> None:
        self.command = command
        self.timeout = timeout
        self.fired = 0
        self._pool: Any = None
        if command is not None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liqcli-exec")

    def fire(self, firing: Firing) -> None:
        from liqcli.formatters._events import alert_json

        text = alert_json(firing)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        self.fired += 1
        if self._pool is not None:
            self._pool.submit(self._run, text, firing.rule.name, firing.symbol)

    def _run(self, text: str, rule: str, symbol: str) -> None:
        import os
        import subprocess

        assert self.command is not None
        env = {**os.environ, "LIQCLI_ALERT_RULE": rule, "LIQCLI_ALERT_SYMBOL": symbol}
        try:
            done = subprocess.run(
                self.command, shell=True, input=(text + "\n").encode(), stdout=sys.stderr,
                timeout=self.timeout, env=env, check=False,
            )
        except subprocess.TimeoutExpired:
            _note(f"--exec timed out after {self.timeout:g}s (rule {rule}, {symbol})")
        except OSError as exc:
            _note(f"--exec failed to start (rule {rule}, {symbol}): {exc}")
        else:
            if done.returncode != 0:
                _note(f"--exec exited with status {done.returncode} (rule {rule}, {symbol})")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _note(message: str) -> None:
    sys.stderr.write(f"liqcli: {message}\n")
    sys.stderr.flush()


def run_alerts(
    *, rules: list[Rule], symbols: list[str] | None, all_symbols: bool,
    exchanges: list[str] | None, since: str | None, until: str | None, replay: bool,
    count: int | None, output: Output, redis_url: str | None, prefix: str,
) -> None:
    """Evaluate ``rules`` on stored history (``replay``) or live; print the firings."""
    from functools import partial

    from liqcli.errors import UsageError
    from liqcli.report.alerts import AlertEngine
    from liqcli.report.core import normalize_exchanges, normalize_symbols
    from liqcli.report.follow import Follower
    from liqcli.report.live import describe_error
    from liqcli.report.timeparse import now_ms, parse_window
    from liqcli.store.connection import open_store

    now = now_ms()
    since_ms, until_ms = parse_window(since, until, now=now)
    wanted_exchanges = set(normalize_exchanges(exchanges))
    names = None if all_symbols else normalize_symbols(symbols)
    if not replay and until_ms is not None:
        raise UsageError("--until needs --replay (a live run has no end)")
    engine = AlertEngine(rules)
    start = now if since_ms is None else since_ms
    store = open_store(redis_url, prefix)
    follower = Follower(
        store, names, since_ms=start - engine.lookback_ms,
        until_ms=(until_ms if until_ms is not None else now) if replay else None,
        follow=not replay, describe=partial(describe_error, url=redis_url),
    )
    for item in follower:
        if item.notice is not None:
            _note(item.notice)
            continue
        event = item.event
        assert event is not None
        if wanted_exchanges and event.exchange not in wanted_exchanges:
            continue
        firings = engine.feed(event)
        # History before the start only warms the windows up (a live run had seen it).
        if item.replayed and (since_ms is None or event.ts_ms < since_ms):
            continue
        for firing in firings:
            output.fire(firing)
            if count is not None and output.fired >= count:
                return


@dataclass(frozen=True, slots=True)
class AlertRequest:
    """The options ``alert`` and ``check`` share: selection, rules, ``--exec``, connection."""

    symbols: list[str] | None
    all_symbols: bool
    exchanges: list[str] | None
    since: str | None
    until: str | None
    rules_file: Path | None
    single: list[str] | None
    sums: list[str] | None
    cascades: list[str] | None
    spikes: list[str] | None
    cooldown: str | None
    exec_cmd: str | None
    exec_timeout: float
    redis_url: str | None
    prefix: str
    debug: bool


def alert_request(
    symbol: Symbols = None,
    all_symbols: AllSymbols = False,
    exchange: Exchanges = None,
    since: Since = None,
    until: Until = None,
    rules_file: RulesFile = None,
    single: Single = None,
    sums: Sum = None,
    cascade: Cascade = None,
    spike: Spike = None,
    cooldown: Cooldown = None,
    exec_cmd: Exec = None,
    exec_timeout: ExecTimeout = DEFAULT_EXEC_TIMEOUT,
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> AlertRequest:
    """Gather the shared options; its signature is also both commands' shared options."""
    return AlertRequest(symbol, all_symbols, exchange, since, until, rules_file, single, sums,
                        cascade, spike, cooldown, exec_cmd, exec_timeout, redis_url, prefix,
                        debug)


def alert_command(run: Callable[..., None]) -> Callable[..., None]:
    """A Typer command taking the shared options (gathered into an :class:`AlertRequest`, passed
    first to ``run``), then ``run``'s own options."""
    return gathered_command(alert_request, run, first=tuple(
        inspect.signature(alert_request).parameters))


def evaluate(request: AlertRequest, *, replay: bool, count: int | None = None) -> int:
    """Load the rules, evaluate them (``replay``: stored history; else live), print the
    firings; returns how many fired. Errors become exit statuses (``errors_handled``)."""
    from liqcli.errors import UsageError

    output = Output(request.exec_cmd, request.exec_timeout)
    with errors_handled(request.debug):
        try:
            rules = load_rules(request.rules_file, request.single, request.sums,
                               request.cascades, request.spikes, request.cooldown)
            if replay and request.since is None:
                raise UsageError("--since is required here (the start of the window)")
            run_alerts(
                rules=rules, symbols=request.symbols, all_symbols=request.all_symbols,
                exchanges=request.exchanges, since=request.since, until=request.until,
                replay=replay, count=count, output=output, redis_url=request.redis_url,
                prefix=request.prefix,
            )
        finally:
            output.close()
    return output.fired


if wanted("alert"):

    @app.command(help=ALERT_HELP)
    @alert_command
    def alert(
        request: AlertRequest,
        replay: Annotated[
            bool,
            typer.Option("--replay", help="Evaluate stored history [--since, --until) instead "
                         "of following the store; prints what a live run would have fired.",
                         rich_help_panel=RUN_PANEL),
        ] = False,
        count: Annotated[
            int | None,
            typer.Option("--count", metavar="N", min=1, help="Stop after N firings.",
                         rich_help_panel=RUN_PANEL),
        ] = None,
    ) -> None:
        """Alert on liquidations (see ALERT_HELP)."""
        try:
            evaluate(request, replay=replay, count=count)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


if wanted("check"):

    @app.command(help=CHECK_HELP)
    @alert_command
    def check(request: AlertRequest) -> None:
        """Cron check (see CHECK_HELP); --since is required."""
        from liqcli.errors import ExitStatus

        try:
            fired = evaluate(request, replay=True)
        except typer.Exit as exc:
            if exc.exit_code == int(ExitStatus.ERROR):
                raise typer.Exit(CHECK_ERROR) from None
            raise
        raise typer.Exit(1 if fired else 0)
