"""The EXAMPLES section at the end of every command's ``--help`` (gh and httpie have them).

One entry per command name (a subcommand of a group as ``"import cryptofeed"``); the app adds
each as its command's epilog when it registers the commands (``app._register``), unless the
command writes its own EXAMPLES. A new command
adds its examples here (tests/test_cli_usage.py checks that every command has some).
Text is rich markup: write ``\\[`` for a literal ``[``.
"""

from __future__ import annotations

_REPORT_TAIL = """
  liqcli {cmd} -s ETHUSDT,SOLUSDT -e binance,bybit -f json | jq .
  liqcli {cmd} --all-symbols --since 2024-08-01 --until 2024-09-01 -f csv"""

# Lines stay under 78 characters: help is wrapped at the terminal's width.
EXAMPLES: dict[str, str] = {
    "ingest": """
  liqcli ingest events.jsonl more.csv.gz
  liqcli ingest -F binance forceorder-dump.jsonl   (-F: input format)
  collector | liqcli ingest -                      (stored within 1 s)
  liqcli ingest --strict --reject-file bad.txt day.jsonl""",
    "totals": """
  liqcli totals
  liqcli totals -s 币安人生USDT --since 24h
  liqcli totals -s BTCUSDT --windows 1h,4h,12h,24h    (trailing windows)"""
    + _REPORT_TAIL.format(cmd="totals"),
    "sides": """
  liqcli sides -s ETHUSDT --since 7d
  liqcli sides -s BTCUSDT --windows 1h,4h,12h,24h     (trailing windows)
  liqcli sides -s BTCUSDT -f json | jq '.sides\\[] | {side, usd}'""",
    "exchanges": """
  liqcli exchanges --since 24h
  liqcli exchanges --all-symbols --windows 1h,24h -f json
  liqcli exchanges --all-symbols --since 7d -f csv --no-header >> weekly.csv""",
    "matrix": """
  liqcli matrix -s BTCUSDT --since 2024-08-05 --until 2024-08-06
  liqcli matrix -e binance,okx -f markdown""",
    "summary": """
  liqcli summary -s BTCUSDT --since 24h
  liqcli summary --all-symbols -f json --string-amounts > report.json""",
    "symbols": """
  liqcli symbols
  liqcli symbols --since 1h -e bybit -f csv
  liqcli symbols --since 24h --sort usd --top 10
  liqcli symbols --since 7d --sort short_usd --top 20 -f csv""",
    "history": """
  liqcli history                        (BTCUSDT, the last 24 h per hour)
  liqcli history -s ETHUSDT --interval 1d --since 30d -f csv > eth.csv
  liqcli history --interval 5m --since 2h --by exchange -f json
  liqcli history -s BTCUSDT,ETHUSDT --interval 4h --since 7d -f csv""",
    "top": """
  liqcli top                            (the 10 largest BTCUSDT, all time)
  liqcli top -n 20 --since 30d --all-symbols
  liqcli top -s ETHUSDT -e binance --side short --by qty --since 7d -f csv""",
    "levels": """
  liqcli levels --since 7d --step 100
  liqcli levels -s ETHUSDT --since 24h --bands 30 -f csv""",
    "watch": """
  liqcli watch -s BTCUSDT --since 1h
  liqcli watch -n 10 --count 6 -f ndjson""",
    "demo": """
  liqcli demo
  liqcli demo --store ./demo.rdb
  liqcli totals --redis-url embedded:./demo.rdb""",
    "collect": """
  liqcli collect -e binance -e bybit
  liqcli collect -e okx --record okx.jsonl""",
    "store status": """
  liqcli store status
  liqcli store status --redis-url redis://localhost:6379/0 --json""",
    "store path": """
  liqcli store path
  liqcli store path --redis-url embedded:./demo.rdb""",
    "store list": """
  liqcli store list
  liqcli store list --json""",
    "store start": """
  liqcli store start
  liqcli store start --redis-url embedded:./demo.rdb""",
    "store stop": """
  liqcli store stop
  liqcli store stop --redis-url embedded:./demo.rdb""",
    "export": """
  liqcli export -s BTCUSDT --since 7d > btc-week.jsonl
  liqcli export --all-symbols --since 2024-08-01 -o august.csv.gz
  liqcli export -s ETHUSDT -o eth.parquet      (needs liqcli\\[parquet])
  liqcli export --all-symbols | liqcli ingest --redis-url embedded:./c.rdb -""",
    "tail": """
  liqcli tail -s BTCUSDT,ETHUSDT --min-usd 100000
  liqcli tail --all-symbols --since 10m -f ndjson | jq -c '{symbol, side, usd}'
  liqcli tail -s SOLUSDT --side LONG --since 1h --no-follow -f csv""",
    "alert": """
  liqcli alert -s BTCUSDT --single 1000000 --cascade 20/30s --cooldown 5m
  liqcli alert --all-symbols --rules rules.toml --exec 'curl -s -d @- $HOOK'
  liqcli alert --rules rules.toml --all-symbols --since 30d --replay""",
    "check": """
  liqcli check -s BTCUSDT --sum 5000000/5m --since 5m || notify-send 'BTC'
  liqcli check --all-symbols --rules rules.toml --since 1h --exec ./page.sh""",
    "import cryptofeed": """
  liqcli import cryptofeed --source-url redis://localhost:6379/0
  liqcli import cryptofeed --source-url redis://cf:6379/1 --key liquidations""",
}


def epilog(command: str) -> str | None:
    """The EXAMPLES text of ``command``, or None when it has none."""
    text = EXAMPLES.get(command)
    return None if text is None else "EXAMPLES\n" + text.strip("\n")
