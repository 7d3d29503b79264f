"""Stage 1 — feeds: where events come from.

Exchange adapters (one module per venue in :mod:`liqcli.feeds.adapters`), the live collector,
the cryptofeed import and the deterministic demo sample. Feeds turn venue messages into
:class:`liqcli.model.Event` through :mod:`liqcli.ingest` and hand them to the ingest pipeline;
they never read reports. See docs/architecture.md.
"""
