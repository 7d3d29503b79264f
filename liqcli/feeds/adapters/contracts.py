"""Contract values: how much one contract of an instrument is worth, in base or in USD.

Quantities on OKX SWAP/FUTURES, BitMEX and all inverse (coin-margined) contracts are counts of
contracts. The built-in table covers the common instruments; anything else is supplied with
``--contract-size INSTRUMENT=VALUE`` (repeatable) or ``--contract-sizes FILE`` (one
``INSTRUMENT=VALUE`` per line, ``#`` comments). VALUE is a number of base units (``0.01``) or,
for USD-valued contracts, a number followed by ``USD`` (``100USD``). INSTRUMENT is the venue's
id (``BTC-USDT-SWAP``), optionally prefixed by the exchange (``okx:BTC-USDT-SWAP``).
An instrument whose value is unknown is rejected, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from liqcli.errors import InvalidEvent, UsageError


@dataclass(frozen=True, slots=True)
class ContractValue:
    """One contract is ``amount`` base units, or ``amount`` USD when ``quote`` (inverse)."""

    amount: Decimal
    quote: bool = False

    def __str__(self) -> str:
        return f"{self.amount}USD" if self.quote else str(self.amount)


def _base(value: str) -> ContractValue:
    return ContractValue(Decimal(value))


def _usd(value: str) -> ContractValue:
    return ContractValue(Decimal(value), quote=True)


# Keys are "exchange:KEY" where KEY is an instrument id or an instrument family the adapter asks
# for (OKX instFamily such as BTC-USDT; Binance COIN-M pair such as BTCUSD; "bybit:inverse").
# Values as published by the exchanges (OKX ctVal, Binance COIN-M contract size, BitMEX
# multipliers) for the most traded instruments; an exchange may change them: override then.
BUILTIN: dict[str, ContractValue] = {
    # OKX USDT-margined SWAP and FUTURES (ctVal in base currency), by instrument family.
    "okx:BTC-USDT": _base("0.01"),
    "okx:ETH-USDT": _base("0.1"),
    "okx:SOL-USDT": _base("1"),
    "okx:DOGE-USDT": _base("1000"),
    "okx:XRP-USDT": _base("100"),
    "okx:LTC-USDT": _base("1"),
    "okx:BCH-USDT": _base("0.1"),
    "okx:ADA-USDT": _base("100"),
    "okx:LINK-USDT": _base("1"),
    "okx:DOT-USDT": _base("1"),
    "okx:AVAX-USDT": _base("1"),
    "okx:TRX-USDT": _base("1000"),
    # OKX coin-margined (inverse) SWAP and FUTURES: USD per contract.
    "okx:BTC-USD": _usd("100"),
    "okx:ETH-USD": _usd("10"),
    "okx:SOL-USD": _usd("10"),
    "okx:XRP-USD": _usd("10"),
    "okx:DOGE-USD": _usd("10"),
    "okx:LTC-USD": _usd("10"),
    # Binance COIN-M (delivery) contracts, by pair: BTC 100 USD, the others 10 USD.
    "binance:BTCUSD": _usd("100"),
    "binance:ETHUSD": _usd("10"),
    "binance:BNBUSD": _usd("10"),
    "binance:SOLUSD": _usd("10"),
    "binance:XRPUSD": _usd("10"),
    "binance:DOGEUSD": _usd("10"),
    "binance:ADAUSD": _usd("10"),
    "binance:LTCUSD": _usd("10"),
    "binance:LINKUSD": _usd("10"),
    "binance:DOTUSD": _usd("10"),
    "binance:BCHUSD": _usd("10"),
    # Bybit inverse contracts (BTCUSD, ETHUSD, dated BTCUSDH25, ...) are 1 USD each.
    "bybit:inverse": _usd("1"),
    # BitMEX: XBTUSD 1 USD; linear USDT contracts as fractions of the base coin.
    "bitmex:XBTUSD": _usd("1"),
    "bitmex:XBTUSDT": _base("0.000001"),
    "bitmex:ETHUSDT": _base("0.00001"),
    # Deribit inverse perpetuals and futures report their amount in USD already.
    "deribit:inverse": _usd("1"),
}

_VALUE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*(USD)?\s*", re.IGNORECASE)


def parse_value(text: str) -> ContractValue:
    """``"0.01"`` → 0.01 base units; ``"100USD"`` / ``"100 usd"`` → 100 USD per contract."""
    match = _VALUE_RE.fullmatch(text)
    if match is None:
        raise UsageError(f"bad contract value {text!r} (want a number, or a number then USD)")
    try:
        amount = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        raise UsageError(f"bad contract value {text!r}") from None
    if amount <= 0:
        raise UsageError(f"contract value must be positive: {text!r}")
    return ContractValue(amount, quote=match.group(2) is not None)


def parse_assignment(text: str) -> tuple[str, ContractValue]:
    """``"okx:BTC-USDT-SWAP=0.01"`` → (``"okx:BTC-USDT-SWAP"``, 0.01)."""
    instrument, sep, value = text.partition("=")
    instrument = instrument.strip()
    if not sep or not instrument:
        raise UsageError(f"bad --contract-size {text!r} (want INSTRUMENT=VALUE)")
    return instrument, parse_value(value)


class ContractTable:
    """Built-in contract values plus user overrides (an override always wins)."""

    def __init__(
        self,
        overrides: Mapping[str, ContractValue] | None = None,
        builtin: Mapping[str, ContractValue] | None = None,
    ) -> None:
        self._builtin = dict(BUILTIN if builtin is None else builtin)
        self._overrides = dict(overrides or {})

    @classmethod
    def from_options(
        cls, assignments: Iterable[str] = (), files: Iterable[str | Path] = ()
    ) -> ContractTable:
        """Build from ``--contract-sizes FILE`` contents then ``--contract-size`` values."""
        overrides: dict[str, ContractValue] = {}
        for path in files:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(
                    f"cannot read contract sizes file {path}: {exc.strerror}"
                ) from None
            for number, line in enumerate(text.splitlines(), 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                try:
                    key, value = parse_assignment(line)
                except UsageError as exc:
                    raise UsageError(f"{path}:{number}: {exc}") from None
                overrides[key] = value
        for text in assignments:
            key, value = parse_assignment(text)
            overrides[key] = value
        return cls(overrides)

    def lookup(self, exchange: str, instrument: str, *families: str) -> ContractValue | None:
        for key in (f"{exchange}:{instrument}", instrument):
            if key in self._overrides:
                return self._overrides[key]
        for family in families:
            for key in (f"{exchange}:{family}", family):
                if key in self._overrides:
                    return self._overrides[key]
        for key in (instrument, *families):
            found = self._builtin.get(f"{exchange}:{key}")
            if found is not None:
                return found
        return None

    def resolve(self, exchange: str, instrument: str, *families: str) -> ContractValue:
        """The contract value, or ``InvalidEvent`` telling how to supply it."""
        found = self.lookup(exchange, instrument, *families)
        if found is None:
            raise InvalidEvent(
                f"unknown contract value for {exchange} {instrument}: supply it with "
                f"--contract-size {instrument}=VALUE (base units, or e.g. 100USD for "
                "USD-valued contracts) or --contract-sizes FILE"
            )
        return found
