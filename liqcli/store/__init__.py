"""Stage 3 — store: everything that knows the Redis layout.

:class:`~liqcli.store.store.Store` (writes through the ingest script, reads rollups), the Lua
scripts, rollup decoding, feed-coverage records, URL resolution and connections
(:mod:`.connection`), and the local redis-server launcher (:mod:`.local`). It imports only
:mod:`liqcli.model` and :mod:`liqcli.errors`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Store"]


def __getattr__(name: str) -> Any:
    # ``from liqcli.store import Store`` keeps working without importing the store module (and
    # its dependencies) when only a submodule such as the connection helpers is wanted.
    if name == "Store":
        from liqcli.store.store import Store

        return Store
    raise AttributeError(f"module 'liqcli.store' has no attribute {name!r}")
