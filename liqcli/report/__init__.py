"""Stage 4 — report: the one aggregation core and its typed results.

:func:`~liqcli.report.core.compute_stats` folds rollups read from :mod:`liqcli.store` into a
:class:`~liqcli.report.stats.CumulativeStats`; :mod:`.timeparse` reads time windows; :mod:`.live`
is the refresh session behind ``watch``. Nothing here knows Typer, rich or an output format.
"""
