"""Hostile input: a seeded fuzzer of mutated AMI frames through replay and a live socket; /metrics under idle clients.

TELMON_FUZZ_FRAMES sets how many mutated frames go through each path (default
200,000 to keep the suite quick; the issue's 10^6 run: TELMON_FUZZ_FRAMES=1000000,
about 40 s for both paths on 2 cores).
"""
from __future__ import annotations

import asyncio
import os
import random
import resource
import socket
import threading
import time
import urllib.request

import pytest

from conftest import TRACES
from monitor.metrics import http as metrics_http
from monitor.ami.codec import AmiDecoder, encode_message
from monitor.config import AmiSettings, load_settings
from monitor.directory import load_directory
from monitor.live.listener import Listener
from monitor.pipeline import Pipeline

FRAMES = int(os.environ.get("TELMON_FUZZ_FRAMES", "200000"))
SETTINGS = load_settings(None, {}, {})
DIRECTORY = load_directory(SETTINGS.directory_path)


def _corpus() -> list[bytes]:
    frames = []
    for path in sorted(TRACES.glob("*.ami")):
        data = path.read_bytes()
        frames += [f + b"\r\n\r\n" for f in data.split(b"\r\n\r\n")[1:] if f.startswith(b"Event: ")]
    return frames


def mutate(rng: random.Random, frame: bytes) -> bytes:
    """One mutation of a real frame: flipped bytes, cut, doubled, values swapped for hostile ones."""
    kind = rng.randrange(8)
    b = bytearray(frame)
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        del b[rng.randrange(len(b)):]
    elif kind == 2:
        b = b.replace(b"\r\n", b"\n", rng.randint(1, 5))
    elif kind == 3:
        lines = bytes(b).split(b"\r\n")
        i = rng.randrange(len(lines))
        key = lines[i].partition(b":")[0]
        lines[i] = key + b": " + rng.choice([b"nan", b"inf", b"-1", b"9" * 40, b"\x00\xff", b"1e308", b"", b"::::",
                                             b"9795574606.123", b"A" * 5000])
        b = bytearray(b"\r\n".join(lines))
    elif kind == 4:
        b = b + b
    elif kind == 5:
        b = bytearray(b.replace(b": ", b":", 1))
    elif kind == 6:
        b = bytearray(rng.randbytes(rng.randint(1, 300)))
    return bytes(b)


def _stream(seed: int, n: int, chunk: int = 8192):
    rng = random.Random(seed)
    corpus = _corpus()
    buf = bytearray(b"Asterisk Call Manager/11.0.0\r\n")
    for _ in range(n):
        frame = rng.choice(corpus)
        buf += mutate(rng, frame) if rng.random() < 0.7 else frame
        if len(buf) >= chunk:
            yield bytes(buf)
            buf.clear()
    yield bytes(buf)


@pytest.mark.slow
def test_mutated_frames_through_replay_never_escape_and_memory_stays_bounded():
    pipeline = Pipeline.from_settings(SETTINGS, DIRECTORY, [])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    held = 0
    for data in _stream(14, FRAMES):
        pipeline.feed_bytes(data)                 # nothing may raise
        held = max(held, pipeline.decoder.pending_bytes)
    pipeline.end_stream()
    pipeline.flush("end of fuzz")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert held <= (1 << 20) + 8192 and grown_mb < 200
    assert pipeline.tracker.counts["handled"] > FRAMES // 100


@pytest.mark.slow
def test_mutated_frames_through_a_live_socket_never_stop_the_listener():
    async def main() -> tuple[int, int]:
        async def serve(reader, writer):
            writer.write(b"Asterisk Call Manager/11.0.0\r\n")
            decoder = AmiDecoder()
            while True:
                items = decoder.feed(await reader.read(4096))
                login = next((m for m in items if getattr(m, "get", None) and m.get("Action") == "Login"), None)
                if login is not None:
                    writer.write(encode_message({"Response": "Success", "ActionID": login["ActionID"]}))
                    break
            for data in _stream(15, FRAMES):
                writer.write(data)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pipeline = Pipeline.from_settings(SETTINGS, DIRECTORY, [])
        listener = Listener(AmiSettings(port=port, secret="x", backoff_min=0.05, backoff_max=0.1), pipeline)
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        while listener.state.sessions < 2 and not task.done():     # the first session ran to its end
            await asyncio.sleep(0.05)
        stop.set()
        await task                                                # no exception escaped
        server.close()
        return listener.state.sessions, pipeline.tracker.counts["handled"]
    sessions, handled = asyncio.run(main())
    assert sessions >= 2 and handled > FRAMES // 100


@pytest.mark.slow
def test_metrics_endpoint_drops_idle_clients_and_caps_connections(monkeypatch):
    from monitor.metrics import Metrics, start_metrics_server
    monkeypatch.setattr(metrics_http, "CONNECTION_TIMEOUT", 1.0)
    metrics = Metrics.from_settings(SETTINGS, DIRECTORY)
    endpoint = start_metrics_server(metrics, "127.0.0.1", 0)
    base = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", endpoint.port)) for _ in range(200)]
    time.sleep(0.5)
    assert threading.active_count() <= base + metrics_http.MAX_CONNECTIONS + 1
    time.sleep(1.5)                                # idle clients timed out: the slots are free again
    body = urllib.request.urlopen(endpoint.url, timeout=5).read()
    assert b"telmon_calls_total" in body
    for s in idle:
        s.close()
    endpoint.close()
