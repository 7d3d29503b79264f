"""The ``liqcli`` Typer app, error-to-exit-status mapping, and command registration."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer

from liqcli import __version__
from liqcli.errors import ExitStatus, LiqError

app = typer.Typer(
    name="liqcli",
    help="Exact cumulative liquidation reports for crypto perpetual futures, from Redis.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

T = TypeVar("T")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"liqcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Exact cumulative liquidation reports for crypto perpetual futures, from Redis."""


def fail(message: str, status: ExitStatus) -> typer.Exit:
    """Print a one-line error on stderr (passwords masked) and return the Exit to raise."""
    from liqcli.store.connection import mask_secrets

    sys.stderr.write(f"liqcli: error: {mask_secrets(message)}\n")
    sys.stderr.flush()
    return typer.Exit(int(status))


@contextmanager
def errors_handled(debug: bool) -> Iterator[None]:
    """Map liqcli's exceptions to one-line messages and documented exit statuses.

    With ``debug`` the traceback is printed too (never locals; URLs in messages are masked).
    """
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except BrokenPipeError:
        _silence_broken_pipe()
        raise typer.Exit(int(ExitStatus.OK)) from None
    except LiqError as exc:
        if debug:
            print_traceback()
        raise fail(str(exc), exc.exit_status) from None
    except Exception as exc:
        from liqcli.store.connection import describe_redis_error

        described = describe_redis_error(exc, _given_url())
        if debug:
            print_traceback()
        if described is not None:
            raise fail(described, ExitStatus.STORE) from None
        raise fail(
            f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            ExitStatus.ERROR,
        ) from None


def _given_url() -> str | None:
    """The ``--redis-url`` of the running command (None: not given, the environment decides):
    an error names the store the user asked for, not the default."""
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    url = None if ctx is None else ctx.params.get("redis_url")
    return url if isinstance(url, str) and url else None


def print_traceback() -> None:
    """The current exception's traceback on stderr, every password masked."""
    import traceback

    from liqcli.store.connection import mask_secrets

    sys.stderr.write(mask_secrets(traceback.format_exc()))
    sys.stderr.flush()


def _silence_broken_pipe() -> None:
    """After EPIPE on stdout (``| head -1``), point stdout at devnull so exit is quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _register() -> None:
    # Each module adds its commands to ``app``; heavy imports stay inside the commands. The
    # entry point may have narrowed the modules to the one the command line names (start-up).
    import importlib

    from liqcli.cli import selected_modules

    for name in selected_modules():
        importlib.import_module(f"liqcli.cli.{name}")
    _add_examples()


def _add_examples() -> None:
    """Every command's ``--help`` ends with its EXAMPLES (liqcli/cli/examples.py)."""
    from liqcli.cli.examples import epilog

    def name_of(info: typer.models.CommandInfo) -> str:
        callback = info.callback
        return info.name or (callback.__name__.replace("_", "-") if callback else "")

    for info in app.registered_commands:
        info.epilog = info.epilog or epilog(name_of(info))
    for group in app.registered_groups:
        if group.typer_instance is None:
            continue
        for info in group.typer_instance.registered_commands:
            info.epilog = info.epilog or epilog(f"{group.name} {name_of(info)}")


_register()


def run(argv: list[str] | None = None) -> None:
    """Run the app; usage errors become one line on stderr (exit 2), like every other error."""
    # typer 0.26-0.28 (pinned) vendors click as typer._click
    from typer import Abort
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    from liqcli.cli.encoding import safe_streams

    safe_streams()  # a non-UTF-8 stdout gets ASCII glyphs, never a UnicodeEncodeError

    try:
        status = app(args=argv, prog_name="liqcli", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # plain `liqcli`: the help (rich prints it), exit 2
        if exc.format_message().strip():
            sys.stderr.write(exc.format_message() + "\n")
        sys.exit(int(ExitStatus.USAGE))
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = " ".join(exc.format_message().split()) + _option_hint(exc)
        raise SystemExit(int(fail(message + hint, ExitStatus(exc.exit_code)).exit_code)) from None
    except Abort:
        raise SystemExit(int(fail("aborted", ExitStatus.ERROR).exit_code)) from None
    except BrokenPipeError:
        _silence_broken_pipe()
        sys.exit(int(ExitStatus.OK))
    sys.exit(status if isinstance(status, int) else int(ExitStatus.OK))


# Options users reach for from another command: (command, option given) -> what to use.
OPTION_HINTS: dict[tuple[str, str], str] = {
    ("ingest", "-f"): "the input format is -F/--format FORMAT (-f is the reports' output format)",
    ("ingest", "-s"): "ingest reads every symbol of its input (-s selects reports' symbols)",
}


def _option_hint(exc: Exception) -> str:
    from typer._click.exceptions import NoSuchOption

    ctx = getattr(exc, "ctx", None)
    if not isinstance(exc, NoSuchOption) or ctx is None:
        return ""
    hint = OPTION_HINTS.get((ctx.command.name or "", exc.option_name))
    return f"; {hint}" if hint else ""


def call_with_errors(debug: bool, fn: Callable[[], T]) -> T:
    with errors_handled(debug):
        return fn()
