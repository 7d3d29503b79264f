"""Options shared by several commands, defined once (Annotated aliases for Typer)."""

from __future__ import annotations

from typing import Annotated

import typer
from typer._click.types import StringParamType


class _PlainText(StringParamType):
    """A string whose help shows only the metavar, not the type column's raw ``<str>``."""

    def get_metavar(self, param: object, ctx: object) -> str | None:
        return ""


PLAIN_TEXT = _PlainText()

RedisUrl = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        metavar="URL",
        envvar=["LIQCLI_REDIS_URL", "REDIS_URL"],
        show_envvar=True,
        help="Store URL: redis://, rediss:// (TLS; ssl_ca_certs=… parameters), "
        "redis+cluster:// (a cluster node's redis:// URL is detected too), unix:// or "
        "embedded:PATH (default: an embedded store in your data directory, see "
        "'liqcli store path').",
        rich_help_panel="Connection",
    ),
]
Prefix = Annotated[
    str,
    typer.Option(
        "--prefix",
        metavar="PREFIX",
        envvar="LIQCLI_PREFIX",
        show_envvar=True,
        help="Key prefix of the store in Redis.",
        rich_help_panel="Connection",
    ),
]
Debug = Annotated[
    bool,
    typer.Option("--debug", help="Show tracebacks on errors.", rich_help_panel="Connection"),
]
