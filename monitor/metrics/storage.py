"""The database link on /metrics: up or not, outages, calls held, calls dead-lettered.

Read at scrape time from :class:`~monitor.storage.sink.StorageHealth` and the
store's count; no labels (nothing here depends on a call).
"""
from __future__ import annotations

from typing import Any, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class StorageCollector:
    """A prometheus_client collector for the database writer's health."""

    def __init__(self, health: Any, store: Any) -> None:
        self.health = health
        self.store = store

    def describe(self) -> Iterable[Metric]:
        """The families, without reading state (registration)."""
        return self._families(fill=False)

    def collect(self) -> Iterable[Metric]:
        """The families with their current values."""
        return self._families(fill=True)

    def _families(self, fill: bool) -> Iterable[Metric]:
        up = GaugeMetricFamily("telmon_database_up", "1 while the last database write succeeded, else 0.")
        outages = CounterMetricFamily("telmon_database_outages", "Times the database became unavailable "
                                      "(connection, lock, disk full); the calls were held and retried.")
        held = GaugeMetricFamily("telmon_database_held_calls", "Finished calls waiting for the database.")
        dead = CounterMetricFamily("telmon_dead_letters", "Calls the database refused even after fitting "
                                   "them to its limits, kept in the dead_letters table.")
        if fill:
            up.add_metric([], 1.0 if self.health.up else 0.0)
            outages.add_metric([], float(self.health.outages))
            held.add_metric([], float(self.health.held))
            dead.add_metric([], float(getattr(self.store, "dead_letters", 0)))
        return [up, outages, held, dead]
