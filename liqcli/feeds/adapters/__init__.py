"""Exchange adapters: recorded websocket messages → normalized liquidation events.

Each exchange is one module of this package defining ``ADAPTER = Adapter(name, parse_message,
live=...)``; modules are discovered by name, so adding an exchange is adding one module
(see docs/adapters.md). :func:`register_adapter` adds one from outside the package.

Importing this package registers every adapter as an input format of :mod:`liqcli.ingest.readers`
(``liqcli ingest --format binance FILE``). Contract values for those readers come from
:func:`use_contracts` (the ingest command passes its ``--contract-size`` options there).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from liqcli.errors import InvalidEvent
from liqcli.feeds.adapters.base import (
    SKIPPED,
    Adapter,
    AdapterResult,
    LiveFeed,
    NormalizedEvent,
    out_of_range,
    unwrap_recording,
)
from liqcli.feeds.adapters.contracts import ContractTable, ContractValue

__all__ = [
    "SKIPPED",
    "Adapter",
    "AdapterResult",
    "ContractTable",
    "ContractValue",
    "LiveFeed",
    "NormalizedEvent",
    "adapter_names",
    "current_contracts",
    "get_adapter",
    "parse_line",
    "parse_object",
    "register_adapter",
    "use_contracts",
]

_KEEPALIVES = frozenset({"ping", "pong"})  # OKX's and BitMEX's text keep-alives
_HELPER_MODULES = frozenset({"base", "contracts"})
_ADAPTERS: dict[str, Adapter] = {}
_discovered = False
_contracts = ContractTable()


def use_contracts(table: ContractTable) -> None:
    """The contract table the registered input formats use from now on."""
    global _contracts
    _contracts = table


def current_contracts() -> ContractTable:
    """The contract table set by :func:`use_contracts` (the built-in one by default); the
    historical formats (:mod:`liqcli.feeds.tardis`, :mod:`liqcli.feeds.ccxt`) use it too."""
    return _contracts


def register_adapter(adapter: Adapter) -> None:
    """Make ``adapter`` available under ``adapter.name`` (replacing one of the same name),
    both to :func:`get_adapter` and as an input format of :mod:`liqcli.ingest.readers`."""
    _ADAPTERS[adapter.name] = adapter
    _register_format(adapter)


def _register_format(adapter: Adapter) -> None:
    from liqcli.ingest.readers import register_format

    def factory() -> Callable[[str], list[NormalizedEvent | InvalidEvent]]:
        table = _contracts

        def parse(text: str) -> list[NormalizedEvent | InvalidEvent]:
            result = parse_line(adapter, text, contracts=table)
            # A batch frame's bad items are rejected one by one beside its good events.
            return [*result.events, *result.errors]

        return parse

    register_format(adapter.name, factory, detect=adapter.detect)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _HELPER_MODULES:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        adapter = getattr(module, "ADAPTER", None)
        if isinstance(adapter, Adapter) and adapter.name not in _ADAPTERS:
            register_adapter(adapter)


def adapter_names() -> list[str]:
    _discover()
    return sorted(_ADAPTERS)


def get_adapter(name: str) -> Adapter:
    _discover()
    try:
        return _ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(_ADAPTERS))
        raise KeyError(f"no exchange adapter {name!r} (known: {known})") from None


def parse_line(
    adapter: Adapter | str,
    line: str | bytes,
    *,
    contracts: ContractTable | None = None,
    received_ms: int | None = None,
) -> AdapterResult:
    """Parse one line of a recording (a bare message or a ``collect --record`` envelope).

    Raises :class:`InvalidEvent` when the whole line is unreadable; the result's ``errors``
    are the bad items of a batch frame whose other items were read.
    """
    if isinstance(adapter, str):
        adapter = get_adapter(adapter)
    from liqcli.ingest.readers import parse_json

    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
    except UnicodeDecodeError as exc:
        raise InvalidEvent(f"invalid UTF-8 at byte {exc.start + 1} (binary data?)") from None
    if text.strip() in _KEEPALIVES:
        return SKIPPED
    obj: Any = parse_json(text)  # exact decimals; InvalidEvent "malformed JSON: ..."
    obj, recorded_ms = unwrap_recording(obj)
    return parse_object(
        adapter,
        obj,
        received_ms=recorded_ms if recorded_ms is not None else received_ms,
        contracts=contracts if contracts is not None else ContractTable(),
    )


def parse_object(
    adapter: Adapter, obj: Any, *, received_ms: int | None, contracts: ContractTable
) -> AdapterResult:
    """``adapter.parse_message`` guarded: no arithmetic error on the frame's numbers escapes
    (it becomes :class:`InvalidEvent`, the frame's rejection), and no other error of an adapter
    on a frame it did not foresee aborts a recording: it is that line's rejection, named."""
    try:
        return adapter.parse_message(obj, received_ms=received_ms, contracts=contracts)
    except ArithmeticError as exc:  # decimal.Overflow, InvalidOperation, ZeroDivisionError...
        raise out_of_range(exc) from None
    except InvalidEvent:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        detail = str(exc).splitlines()[0][:80] if str(exc) else ""
        raise InvalidEvent(
            f"unreadable frame ({type(exc).__name__}{': ' + detail if detail else ''})"
        ) from None


_discover()  # register every built-in adapter as an input format on import
