"""The greeting-check part of docs/BENCHMARKS.md, from bench/speech_pool.py, speech_cost.py and greeting_eval.py.

Called by bench/write_doc.py for a full ``make bench``. Run alone with
``--splice`` it replaces only the greeting section and the speech rows of the
targets table of an existing document (the other figures stay as they were
measured), from the results of ``bench/run_all.py --only speech_pool
speech_pool_vosk speech_cost greeting --no-doc``:

    .venv/bin/python bench/write_speech.py /tmp/telmon-bench/all.json --splice docs/BENCHMARKS.md
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Callable

Targets = list[tuple[str, str, str]]
FLOORS = {"nb8k": {"recall": 0.75, "true_not_stated": 0.02, "wrong_caught": 0.50},
          "wb16k": {"recall": 0.95, "true_not_stated": 0.02}}


def _load(d: dict[str, Any]) -> str:
    la = d.get("loadavg") or d.get("_run", {}).get("load_after")
    return f"{la[0]:.2f}" if la else "?"


def _ok(ok: bool, how: str) -> str:
    return f"**met** ({how})" if ok else f"**not met** ({how})"


def _cmd(d: dict[str, Any]) -> str:
    return d.get("_run", {}).get("command", "")


def pool_section(r: dict[str, Any]) -> list[str]:
    """Greetings per second through the real worker pool, and the busy hour."""
    runs = [x for key in ("speech_pool", "speech_pool_vosk") for x in r.get(key, {}).get("runs", [])]
    if not runs:
        return []
    sp = r["speech_pool"]
    out = [f"Through `SpeechWorker`'s process pool, as `telmon run` uses it, on {sp['clips']} real 16 kHz clips of "
           "`../shared/speech/real/wb16k` (read in place; they name none of the directory's people, so Whisper "
           f"runs on nearly every one: the cascade's worst case). `{_cmd(sp)}`"
           + (f", `{_cmd(r['speech_pool_vosk'])}`" if r.get("speech_pool_vosk") else "") + ":\n",
           "| engines | processes | greetings (Whisper ran) | seconds | greetings/s | ms per greeting | "
           "warm-up (models load) | load |", "|---|---|---|---|---|---|---|---|"]
    for x in runs:
        out.append(f"| {x.get('engines', 'vosk')} | {x['processes']} | {x['checks']} ({x.get('whisper_ran', 0)}) | "
                   f"{x['seconds']:.1f} | **{x['per_second']:.2f}** | {x['ms_per_check_wall']:.0f} | "
                   f"{x['warmup_seconds']:.1f} s | {x['loadavg'][0]:.2f} |")
    b, h = sp.get("burst"), sp.get("busy_hour")
    if b and h:
        out.append(f"\nBusy hour (2 processes, Vosk then Whisper): a burst of **{b['count']} greetings at once** was "
                   f"drained in **{b['seconds']:.0f} s** (deepest backlog {b['deepest_backlog']}, limit 100; "
                   f"{b['service_s']:.2f} s per greeting per process; load {_load(b)}). **300 greetings in an hour** "
                   f"(Poisson arrivals, those service times, simulated over 200 hours): a check waits "
                   f"{h['median_wait_s']:.1f} s at the median, {h['p99_wait_s']:.1f} s at p99, "
                   f"{h['worst_wait_s']:.0f} s at worst; the backlog never exceeded {h['deepest_backlog']}.")
    return out


def cost_section(r: dict[str, Any], targets: Targets) -> list[str]:
    """CPU per greeting by band and path, against bare decodes of the same clip."""
    c = r.get("speech_cost")
    if not c or c.get("_failed"):
        return []
    out = [f"\nCPU per greeting (`{_cmd(c)}`: the true-greeting trial of each utterance for Vosk alone; the same "
           "audio against its 'neither said' trial for the cascade, so Whisper runs), against bare decodes of the "
           "same seconds (Vosk with the same grammar; Whisper free, int8, one thread):\n",
           "| band | clips | Vosk only: median / p95 ms | ratio to bare Vosk | cascade: median / p95 ms | "
           "ratio to bare Vosk + bare Whisper | CPU-s per audio s: Vosk / Whisper | load |",
           "|---|---|---|---|---|---|---|---|"]
    for band, x in c["bands"].items():
        v, cs = x["vosk_only_s"], x["cascade_s"]
        out.append(f"| {band} | {x['clips']} | {v['median'] * 1000:.0f} / {v['p95'] * 1000:.0f} | "
                   f"{x['vosk_only_ratio']['median']:.2f}x (p95 {x['vosk_only_ratio']['p95']:.2f}x) | "
                   f"{cs['median'] * 1000:.0f} / {cs['p95'] * 1000:.0f} | {x['cascade_ratio']['median']:.2f}x "
                   f"(p95 {x['cascade_ratio']['p95']:.2f}x) | {x['vosk_cpu_per_audio_s']:.3f} / "
                   f"{x['whisper_cpu_per_audio_s']:.3f} | {x['loadavg'][0]:.2f} |")
        for name, key in (("Vosk only", "vosk_only_ratio"), ("cascade", "cascade_ratio")):
            m = x[key]["median"]
            targets.append((f"speech check ({name}) <= 1.1x bare decodes ({band})", f"{m:.2f}x",
                            _ok(m <= 1.1, f"{1.1 - m:+.2f}x margin")))
    out.append(f"\nOne worker process with both models: RSS {c['rss_mb']:.0f} MB (peak {c['peak_rss_mb']:.0f} MB); "
               f"models loaded in {c['vosk_load_s']:.1f} s (Vosk) and {c['whisper_load_s']:.1f} s (Whisper, "
               "including the SHA-256 check of the assembled model).")
    return out


def accuracy_section(r: dict[str, Any], targets: Targets) -> list[str]:
    """The issue's accuracy figures, per band, path and half."""
    g = r.get("greeting")
    if not g or g.get("_failed"):
        return []
    out = [f"\nAccuracy (`{_cmd(g)}`, 220 trials per band; half A tuned on, half B unseen while tuning; "
           "details in docs/SPEECH.md):\n",
           "| band | path | trials | true greetings stated | true greetings 'not stated' | worst false accept | "
           "wrong greetings caught | wrong accepted |", "|---|---|---|---|---|---|---|---|"]
    for band, figures in g["bands"].items():
        for key in ("vosk/all", "cascade/all", "cascade/A", "cascade/B"):
            if key not in figures:
                continue
            f = figures[key]
            n = sum(sum(t.values()) for t in f["table"].values())
            out.append(f"| {band} | {key} | {n} | {f['recall']:.2f} | {f['true_not_stated']:.3f} | "
                       f"{max(f['false_accepts'].values()):.3f} | {f['wrong_caught']:.2f} | "
                       f"{f['wrong_accepted']:.3f} |")
        f = figures.get("cascade/all")
        if f:
            for name, floor in FLOORS[band].items():
                ok = f[name] >= floor if name != "true_not_stated" else f[name] <= floor
                targets.append((f"greeting {name.replace('_', ' ')} {'>=' if name != 'true_not_stated' else '<='} "
                                f"{floor} ({band})", f"{f[name]:.2f}", _ok(ok, "cascade, all 220 trials")))
            fa = max(f["false_accepts"].values())
            targets.append((f"greeting false accepts <= 0.02 ({band})", f"{fa:.3f}", _ok(fa <= 0.02, "worst type")))
    return out


def speech_sections(r: dict[str, Any], targets: Targets) -> list[str]:
    """The whole greeting-check section (targets appended to ``targets``)."""
    body = pool_section(r) + cost_section(r, targets) + accuracy_section(r, targets)
    return ["## Greeting check: Vosk, then Whisper where Vosk is unsure\n", *body, ""] if body else []


def splice(doc: Path, r: dict[str, Any], when: Callable[[], str]) -> None:
    """Replace the greeting section and the speech target rows of ``doc``."""
    text = doc.read_text(encoding="utf-8")
    targets: Targets = []
    section = "\n".join(speech_sections(r, targets)) + f"\n(Greeting figures measured {when()}.)\n\n"
    text = re.sub(r"## Greeting check.*?(?=\n## )", lambda _: section.rstrip("\n") + "\n", text, flags=re.S)
    rows = [line for line in text.splitlines() if line.startswith(("| speech check", "| greeting "))]
    for line in rows:
        text = text.replace(line + "\n", "")
    table_end = text.index("\n\n", text.index("| target | this run |"))
    new_rows = "".join(f"\n| {t} | {v} | {ok} |" for t, v, ok in targets)
    doc.write_text(text[:table_end] + new_rows + text[table_end:], encoding="utf-8")


def main() -> None:
    import datetime as dt
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="all.json written by bench/run_all.py")
    ap.add_argument("--splice", required=True, help="the document to update (docs/BENCHMARKS.md)")
    a = ap.parse_args()
    r = json.loads(Path(a.results).read_text(encoding="utf-8"))
    stamp = dt.datetime.fromtimestamp(r.get("_started", 0), dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    splice(Path(a.splice), r, lambda: f"on {stamp} by `bench/run_all.py --only` the speech steps")


if __name__ == "__main__":
    main()
