"""Prometheus metrics for the supervisors' Grafana (see :mod:`monitor.metrics.registry`).

* :mod:`.registry` — :class:`Metrics`, the counters and histograms (a pipeline sink).
* :mod:`.live` — the gauges of the calls in progress, read at each scrape.
* :mod:`.http` — the ``/metrics`` endpoint.
* :mod:`.storage` — the database writer's health.
* :mod:`.promrules` — R10's Prometheus recording rules and Grafana panels, generated from core/charter.
"""
from .registry import Metrics, ring_buckets, start_metrics_server, wait_buckets

__all__ = ["Metrics", "ring_buckets", "start_metrics_server", "wait_buckets"]
