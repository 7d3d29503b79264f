"""Stage 2 — ingest: input formats, validation into :class:`liqcli.model.Event`, the pipeline.

Readers and the input-format registry (:mod:`.readers`), the event contract (:mod:`.validate`),
the batching ingest pipeline (:mod:`.pipeline`) and its parallel path (:mod:`.parallel`). Exchange
formats join the registry from their own side (:mod:`liqcli.feeds.adapters`, found through the
``liqcli.formats`` entry point group): this package imports nothing from :mod:`liqcli.feeds`.
"""
