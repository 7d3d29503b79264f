"""Options shared by every report command (and ``watch``), defined once.

The signature of :func:`report_request` is the one list of those options; decorate a command
with :func:`report_command` to take them all, gathered into a :class:`ReportRequest`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from liqcli.cli.options import Debug, Prefix, RedisUrl
from liqcli.cli.reporting import ReportRequest
from liqcli.formatters import DEFAULT_FORMAT, available

PANEL = "Report"
COLOR_CHOICES = ("auto", "always", "never")


def _check_format(value: str) -> str:
    if value not in available():
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(available())}")
    return value


def _complete_format(incomplete: str) -> list[str]:
    return [name for name in available() if name.startswith(incomplete)]


def _check_table_style(value: str | None) -> str | None:
    if value is None:
        return None
    from liqcli.formatters.table import table_styles

    if value not in table_styles():
        raise typer.BadParameter(
            f"{value!r} is not a tabulate format (e.g. simple, github, grid, psql, plain)"
        )
    return value


def _complete_table_style(incomplete: str) -> list[str]:
    from liqcli.formatters.table import table_styles

    return [name for name in table_styles() if name.startswith(incomplete)]


def _check_color(value: str) -> str:
    if value not in COLOR_CHOICES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(COLOR_CHOICES)}")
    return value


def _complete_color(incomplete: str) -> list[str]:
    return [name for name in COLOR_CHOICES if name.startswith(incomplete)]


def choice(
    choices: tuple[str, ...], *, lower: bool = False
) -> tuple[Callable[[str | None], str | None], Callable[[str], list[str]]]:
    """``(callback, autocompletion)`` of an option taking one of ``choices`` (None passes;
    ``lower``: case-insensitive, the value lower-cased)."""

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        found = value.lower() if lower else value
        if found not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return found

    def complete(incomplete: str) -> list[str]:
        start = incomplete.lower() if lower else incomplete
        return [name for name in choices if name.startswith(start)]

    return check, complete


Symbols = Annotated[
    list[str] | None,
    typer.Option(
        "-s", "--symbol", envvar="LIQCLI_SYMBOL", show_envvar=True, metavar="SYMBOL",
        help="Symbol to report; repeat it, or separate symbols with commas (also in "
        "LIQCLI_SYMBOL: ETHUSDT,SOLUSDT). Default: LIQCLI_SYMBOL, else BTCUSDT; 'symbols' lists "
        "every symbol unless -s is given.", rich_help_panel=PANEL,
    ),
]
AllSymbols = Annotated[
    bool,
    typer.Option(
        "--all-symbols",
        help="Every symbol in the store (events and USD summed; base quantities per base asset).",
        rich_help_panel=PANEL,
    ),
]
Exchanges = Annotated[
    list[str] | None,
    typer.Option(
        "-e", "--exchange", metavar="NAME",
        help="Only this exchange; repeat it, or separate names with commas.",
        rich_help_panel=PANEL,
    ),
]
Since = Annotated[
    str | None,
    typer.Option(
        "--since", metavar="TIME",
        help="Window start, inclusive: ISO-8601, epoch s/ms, or a duration ago (90m, 24h, 7d).",
        rich_help_panel=PANEL,
    ),
]
Until = Annotated[
    str | None,
    typer.Option(
        "--until", metavar="TIME", help="Window end, exclusive (same forms as --since).",
        rich_help_panel=PANEL,
    ),
]
Format = Annotated[
    str,
    typer.Option(
        "-f", "--format", metavar="FORMAT", callback=_check_format,
        autocompletion=_complete_format,
        help=f"Output format: {', '.join(available())}.", rich_help_panel="Output",
    ),
]
TableStyle = Annotated[
    str | None,
    typer.Option(
        "--table-style", metavar="STYLE", callback=_check_table_style,
        autocompletion=_complete_table_style,
        help="Plain table in this tabulate format (github, grid, psql, …).",
        rich_help_panel="Output",
    ),
]
NoHeader = Annotated[
    bool,
    typer.Option("--no-header", help="csv/tsv: omit the header row.", rich_help_panel="Output"),
]
Color = Annotated[
    str,
    typer.Option(
        "--color", metavar="WHEN", callback=_check_color, autocompletion=_complete_color,
        help="Rich colour tables: auto (a terminal without NO_COLOR), always, never.",
        rich_help_panel="Output",
    ),
]


def report_request(
    symbol: Symbols = None,
    all_symbols: AllSymbols = False,
    exchange: Exchanges = None,
    since: Since = None,
    until: Until = None,
    fmt: Format = DEFAULT_FORMAT,
    table_style: TableStyle = None,
    no_header: NoHeader = False,
    color: Color = "auto",
    redis_url: RedisUrl = None,
    prefix: Prefix = "liq",
    debug: Debug = False,
) -> ReportRequest:
    """Gather the report options; its signature is also every report command's options."""
    return ReportRequest(
        symbols=tuple(symbol) if symbol else None,
        all_symbols=all_symbols,
        exchanges=tuple(exchange or ()),
        since=since,
        until=until,
        fmt=fmt,
        table_style=table_style,
        header=not no_header,
        color=color,
        redis_url=redis_url,
        prefix=prefix,
        debug=debug,
    )


_SELECTION = ("symbol", "all_symbols", "exchange", "since", "until")  # before a command's own


def report_command(run: Callable[..., None]) -> Callable[..., None]:
    """A Typer command taking every report option, then calling ``run(request, **own)``.

    ``run``'s first parameter receives the :class:`ReportRequest`; its other parameters (Typer
    options) are the command's own, listed after the selection options (symbol, exchange and
    window) and before the output and connection options.
    """
    return gathered_command(report_request, run, first=_SELECTION)


def gathered_command(
    gather: Callable[..., Any], run: Callable[..., None], *, first: tuple[str, ...] = ()
) -> Callable[..., None]:
    """A Typer command whose options are ``gather``'s parameters and ``run``'s own (all but its
    first); it calls ``run(gather(**shared), **own)``. ``gather``'s parameters named in
    ``first`` come before ``run``'s own options, the others after them."""
    shared = list(inspect.signature(gather, eval_str=True).parameters.values())
    own = list(inspect.signature(run, eval_str=True).parameters.values())[1:]
    leading = [p for p in shared if p.name in first]
    rest = [p for p in shared if p.name not in first]
    shared_names = [p.name for p in shared]

    def command(**options: Any) -> None:
        gathered = gather(**{name: options.pop(name) for name in shared_names})
        run(gathered, **options)

    command.__name__ = run.__name__
    command.__qualname__ = run.__qualname__
    command.__doc__ = run.__doc__
    command.__module__ = run.__module__
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*leading, *own, *rest], return_annotation=None
    )
    return command
