"""The ``/metrics`` endpoint: history cached between changes, the live view fresh at every scrape.

Why not prometheus_client's own ``start_http_server``: it renders every series
on every scrape. With per-person labels that is ~1,000 series (~80 KB) and
~15 ms of Python under the GIL, time the AMI event loop waits for; scraped
often (a dashboard at 1 s, several Prometheus servers) it delays the verdicts
it is meant to show (bench/live_load.py measured p99 121 ms from a call's last
``Hangup`` to its verdict on ``/metrics`` with scrapes every 50 ms). The
counters and histograms change only when a call finishes or a verdict settles,
so their text is rendered once per change (:attr:`Metrics.version`) and reused,
by :class:`FamilyText`, ten times faster than ``generate_latest`` (1.2 ms vs
12.5 ms for ~1,000 series); only the live gauges (phones ringing now, callers
waiting now, the AMI link), a few dozen series, are rendered at each scrape.
Measured again with prometheus-client 0.26 (2026-12, a loaded 2-core machine): the
bundled directory's 947 series 2.0 ms vs 23.6 ms (11.6x); 50 departments x 20 people,
19,662 series, 80 ms vs 605 ms (7.5x). The gain is worth reading prometheus_client's
private attributes, so setup.cfg pins prometheus-client to the tested minor versions
and tests/test_metrics.py fails by name when one of them is gone; at run time a
family whose attributes are missing falls back to ``generate_latest``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable

from prometheus_client import metrics as prometheus_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString


# What FamilyText reads of prometheus_client beyond its public API, per metric type: on the
# metric, and on its labelled children (checked on the first; Metrics creates them all at start).
PRIVATE_ATTRIBUTES = {
    "counter": (("_name", "_documentation", "_labelnames", "_metrics"), ("_value",)),
    "histogram": (("_name", "_documentation", "_labelnames", "_metrics", "_upper_bounds"), ("_buckets", "_sum")),
}


def missing_private_attributes(metric: Any) -> list[str]:
    """The private attributes FamilyText needs that ``metric`` lacks (empty: the fast path works)."""
    on_metric, on_child = PRIVATE_ATTRIBUTES.get(getattr(metric, "_type", ""), ((), ()))
    missing = [a for a in on_metric if not hasattr(metric, a)]
    children = list(getattr(metric, "_metrics", {}).values())
    if children:
        missing += [f"child.{a}" for a in on_child if not hasattr(children[0], a)]
    return missing


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


class FamilyText:
    """Renders one labelled Counter or Histogram of prometheus_client, fast.

    ``generate_latest`` spends ~12 µs per series building, sorting and escaping
    each sample's labels; here each series' ``name{labels}`` text is built once
    and only the values are formatted per render (~1 µs). The result is byte for
    byte what ``generate_latest`` writes (tests/test_metrics.py checks it), read
    through prometheus_client's child objects (``_metrics``, ``_value``,
    ``_buckets``, ``_sum``): any other metric falls back to ``generate_latest``.
    """

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.kind = getattr(metric, "_type", "")
        self._prefix: dict[tuple[str, ...], tuple[str, ...]] = {}
        # ``*_created`` series (on unless disable_created_metrics(): Metrics turns them off) are not written here.
        self.fast = (self.kind in ("counter", "histogram") and not missing_private_attributes(metric)
                     and not getattr(prometheus_metrics, "_use_created", True))
        name = getattr(metric, "_name", "")
        self.name = name + "_total" if self.kind == "counter" else name
        doc = getattr(metric, "_documentation", "").replace("\\", r"\\").replace("\n", r"\n")
        self.head = f"# HELP {self.name} {doc}\n# TYPE {self.name} {self.kind}\n"

    def _prefixes(self, values: tuple[str, ...]) -> tuple[str, ...]:
        cached = self._prefix.get(values)
        if cached is None:
            pairs = list(zip(self.metric._labelnames, values))
            if self.kind == "counter":
                cached = (self.name + self._labels(pairs) + " ",)
            else:
                base = self.name
                cached = tuple(f"{base}_bucket{self._labels(pairs + [('le', floatToGoString(b))])} "
                               for b in self.metric._upper_bounds) + (
                    f"{base}_count{self._labels(pairs)} ", f"{base}_sum{self._labels(pairs)} ")
            self._prefix[values] = cached
        return cached

    @staticmethod
    def _labels(pairs: list[tuple[str, str]]) -> str:
        return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(pairs)) + "}" if pairs else ""

    def render(self) -> bytes:
        """The family's exposition text."""
        if not self.fast:
            return generate_latest(_Collectors([self.metric]))
        out = [self.head]
        for values, child in list(self.metric._metrics.items()):
            prefixes = self._prefixes(values)
            if self.kind == "counter":
                out.append(f"{prefixes[0]}{floatToGoString(child._value.get())}\n")
                continue
            acc = 0.0
            for prefix, bucket in zip(prefixes, child._buckets):
                acc += bucket.get()
                out.append(f"{prefix}{floatToGoString(acc)}\n")
            out.append(f"{prefixes[-2]}{floatToGoString(acc)}\n{prefixes[-1]}{floatToGoString(child._sum.get())}\n")
        return "".join(out).encode("utf-8")


class _Collectors:
    """A registry-shaped view of some collectors (``generate_latest`` only calls ``collect``)."""

    def __init__(self, collectors: Iterable[Any]) -> None:
        self._collectors = list(collectors)

    def collect(self) -> Iterable[Metric]:
        """Every family of every collector, in order."""
        for c in self._collectors:
            yield from c.collect()


@dataclass
class Exposition:
    """Renders the metrics text: cached history, fresh live view."""

    metrics: object                      # monitor.metrics.Metrics (not imported: no cycle)
    _cached: tuple[int, bytes] = (-1, b"")
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _families: list[FamilyText] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._families = [FamilyText(m) for m in self.metrics.history]   # type: ignore[attr-defined]

    def render(self) -> bytes:
        """The whole exposition, as one scrape returns it."""
        m = self.metrics
        with self._lock:
            # Read the version before rendering: a change during the render leaves
            # the cache one version behind, so the next scrape renders again.
            version = m.version               # type: ignore[attr-defined]
            if self._cached[0] != version:
                self._cached = (version, b"".join(f.render() for f in self._families))
            history = self._cached[1]
        live = m.live                         # type: ignore[attr-defined]
        return history + (generate_latest(_Collectors([live])) if live is not None else b"")


CONNECTION_TIMEOUT = 10.0   # an idle or slow client is dropped after this many seconds
MAX_CONNECTIONS = 32        # scrapes served at once; more are refused (closed) at once


class BoundedHTTPServer(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS at once, none kept by an idle client.

    The standard server keeps a thread per connection for as long as the client
    stays silent (500 idle connections held 504 threads). Each connection's socket
    now times out, and a connection beyond the cap is closed without a thread.
    """

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, *args: Any, max_connections: int = MAX_CONNECTIONS, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:   # socketserver's signature
        """Serve in a thread if a slot is free, else close the connection."""
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _handler(exposition: Exposition) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = CONNECTION_TIMEOUT    # socket timeout: a silent client is dropped

        def do_GET(self) -> None:   # noqa: N802 (http.server's naming)
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "telmon serves /metrics")
                return
            body = exposition.render()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:   # noqa: A002
            pass    # one line per scrape would drown the call log

    return Handler


@dataclass
class MetricsEndpoint:
    """A running ``/metrics`` HTTP server."""

    host: str
    port: int
    _server: BoundedHTTPServer

    @property
    def url(self) -> str:
        """Where Prometheus scrapes."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def serve(exposition: Exposition, host: str, port: int) -> MetricsEndpoint:
    """Serve ``exposition`` on ``http://host:port/metrics`` in a daemon thread (port 0: a free one)."""
    server_class = BoundedHTTPServer
    if ":" in host:
        import socket

        class V6(BoundedHTTPServer):
            address_family = socket.AF_INET6
        server_class = V6
    server = server_class((host, port), _handler(exposition))
    threading.Thread(target=server.serve_forever, name="telmon-metrics", daemon=True).start()
    return MetricsEndpoint(host, server.server_address[1], server)
