"""Turns the figures of a benchmark run into bench/REPORT.md and the convergence plot.

``render(results)`` is pure: a results dict (as ``bench.run`` collects it and
writes it to ``results.json``) in, markdown out. Figures that were not
measured say so instead of showing a number.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

TARGET_SYNC = 1.5  # an unchanged sync: at most this times the bare describe round trips
TARGET_CONVERGE = 3.0  # 1,000 KafkaTopics: at most this times the bare batched create
TARGET_RSS_MB = 120.0  # one gunicorn worker, resident
KINDS = ("KafkaTopic", "KafkaACL")


# -- numbers ------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else math.nan


def ratio(ours: float, floor: float) -> float:
    return ours / floor if floor and not math.isnan(floor) else math.nan


def _s(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


def _ms(seconds: float) -> str:
    return "–" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def _x(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}×"


def _spread(values: Sequence[float], fmt: Any = _s) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def _requests(counts: Mapping[str, float] | None) -> str:
    if not counts:
        return "–"
    total = sum(counts.values())
    parts = ", ".join(f"{kind} {n:g}" for kind, n in sorted(counts.items()))
    return f"{total:g} ({parts})"


def _verdict(value: float, limit: float, unit: str = "×") -> str:
    if math.isnan(value):
        return "not measured"
    if value <= limit:
        return f"**met** ({limit - value:.2f}{unit} to spare)"
    return f"**missed** by {value - limit:.2f}{unit} ({value / limit:.1f} times the limit)"


# -- the report ---------------------------------------------------------------


def render(results: Mapping[str, Any]) -> str:
    """The whole report as markdown."""
    meta = results.get("meta", {})
    lines = [
        "# kafka-access benchmark",
        "",
        f"Written by `python -m bench.run{' --quick' if meta.get('quick') else ''}` on "
        f"{meta.get('date', '?')}; {meta.get('runs', '?')} run(s) of each convergence figure, "
        "medians shown with the range of the runs in brackets. "
        "How to rerun and what each figure means: [docs/benchmarks.md](../docs/benchmarks.md).",
        "",
        *_noise(meta),
        "## Targets",
        "",
        *targets_table(results),
        "",
        "## Figures",
        "",
        *figures_table(results),
        "",
        *_metacontroller(results),
        *_profile(results),
        *_machine(meta),
        *_notes(results),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _noise(meta: Mapping[str, Any]) -> list[str]:
    load = meta.get("loadavg") or {}
    text = (
        f"> **Noise.** {meta.get('nproc', '?')} cores are shared by the broker, gunicorn, "
        "the load driver and whatever else runs on the machine"
    )
    if load:
        text += (
            f" (1-minute load average {load.get('start', '?')} at the start, "
            f"{load.get('end', '?')} at the end, highest seen {load.get('max', '?')})"
        )
    text += ". "
    if meta.get("note"):
        text += f"{meta['note']} "
    text += (
        "Read the absolute figures as an order of magnitude and the ratios (ours and the "
        "floor measured side by side, interleaved) as the result; rerun on a quiet machine "
        "with `python -m bench.run`."
    )
    return [text, ""]


def _convergence(results: Mapping[str, Any], kind: str, size: int) -> tuple[list, list]:
    entry = (results.get("convergence") or {}).get(kind, {}).get(str(size)) or {}
    return list(entry.get("ours") or []), list(entry.get("floor") or [])


def _convergence_field(results: Mapping[str, Any], kind: str, size: int, name: str) -> list:
    entry = (results.get("convergence") or {}).get(kind, {}).get(str(size)) or {}
    return list(entry.get(name) or [])


def _floor_each(results: Mapping[str, Any], kind: str, size: int) -> list:
    return _convergence_field(results, kind, size, "floor_each")


def _latency(results: Mapping[str, Any], kind: str) -> tuple[list, list]:
    entry = (results.get("latency") or {}).get(kind) or {}
    return list(entry.get("ours") or []), list(entry.get("floor") or [])


def _unchanged_requests(results: Mapping[str, Any], kind: str) -> tuple[dict, dict]:
    entry = ((results.get("requests") or {}).get(kind) or {}).get("unchanged") or {}
    return dict(entry.get("ours") or {}), dict(entry.get("floor") or {})


def worker_rss_mb(results: Mapping[str, Any]) -> float:
    workers = ((results.get("rss") or {}).get("workers_kib") or {}).values()
    return max(workers) * 1024 / 1e6 if workers else math.nan


def targets_table(results: Mapping[str, Any]) -> list[str]:
    rows = ["| target | measured | verdict |", "|---|---|---|"]
    for kind in KINDS:
        ours, floor = _latency(results, kind)
        latency = ratio(median(ours), median(floor))
        req_ours, req_floor = _unchanged_requests(results, kind)
        requests = ratio(sum(req_ours.values()), sum(req_floor.values())) if req_floor else math.nan
        rows.append(
            f"| an unchanged {kind} sync ≤ {TARGET_SYNC}× the bare describe round trips: "
            f"p50 latency | {_ms(median(ours))} vs {_ms(median(floor))} = {_x(latency)} | "
            f"{_verdict(latency, TARGET_SYNC)} |"
        )
        rows.append(
            f"| … and admin requests per sync | {sum(req_ours.values()):g} vs "
            f"{sum(req_floor.values()):g} = {_x(requests)} | {_verdict(requests, TARGET_SYNC)} |"
        )
    ours, floor = _convergence(results, "KafkaTopic", 1000)
    converge = ratio(median(ours), median(floor))
    rows.append(
        f"| 1,000 KafkaTopics Ready ≤ {TARGET_CONVERGE}× one batched create of 1,000 topics | "
        f"{_s(median(ours))} vs {_s(median(floor))} = {_x(converge)} | "
        f"{_verdict(converge, TARGET_CONVERGE)} |"
    )
    rss = worker_rss_mb(results)
    rows.append(
        f"| one gunicorn worker < {TARGET_RSS_MB:g} MB resident after the runs | "
        f"{'–' if math.isnan(rss) else f'{rss:.1f} MB'} | {_verdict(rss, TARGET_RSS_MB, ' MB')} |"
    )
    return rows


def figures_table(results: Mapping[str, Any]) -> list[str]:
    rows = ["| figure | ours | floor (bare confluent-kafka) | ours / floor |", "|---|---|---|---|"]
    sizes = sorted(
        {int(s) for kind in KINDS for s in (results.get("convergence") or {}).get(kind, {})}
    )
    for kind in KINDS:
        for size in sizes:
            ours, floor = _convergence(results, kind, size)
            if not ours and not floor:
                continue
            unconverged = _unconverged(results, kind, size)
            note = f" ({unconverged} run(s) hit the deadline)" if unconverged else ""
            confirmed = _convergence_field(results, kind, size, "floor_confirmed")
            confirmed_note = f"; confirmed after {_s(median(confirmed))}" if confirmed else ""
            rows.append(
                f"| {size:,} {kind}s Ready (floor: one batched create, until the broker lists "
                f"it all{confirmed_note}) | {_spread(ours)}{note} | "
                f"{_spread(floor)} | {_x(ratio(median(ours), median(floor)))} |"
            )
            each = _floor_each(results, kind, size)
            if each:
                rows.append(
                    f"| … floor instead: one create request per {kind}, "
                    f"{(results.get('meta') or {}).get('driver_workers', 5)} threads "
                    f"| {_spread(ours)} | {_spread(each)} | "
                    f"{_x(ratio(median(ours), median(each)))} |"
                )
    for kind in KINDS:
        ours, floor = _latency(results, kind)
        if not ours:
            continue
        for q in (50, 99):
            rows.append(
                f"| unchanged {kind} sync, p{q} (n={len(ours)}) | {_ms(percentile(ours, q))} | "
                f"{_ms(percentile(floor, q))} | "
                f"{_x(ratio(percentile(ours, q), percentile(floor, q)))} |"
            )
        entry = (results.get("latency") or {}).get(kind) or {}
        for label, key in (
            (
                "the hook's own work for the same sync (in-process: JSON, parse, reconcile; no Flask, no HTTP)",
                "inprocess",
            ),
            ("a customize call over HTTP (no Kafka: the fixed cost of a call)", "customize"),
        ):
            if entry.get(key):
                rows.append(
                    f"| {kind}: {label}, p50 (n={len(entry[key])}) | "
                    f"{_ms(percentile(entry[key], 50))} | – | – |"
                )
        req_ours, req_floor = _unchanged_requests(results, kind)
        rows.append(
            f"| admin requests per unchanged {kind} sync | {_requests(req_ours)} | "
            f"{_requests(req_floor)} | "
            f"{_x(ratio(sum(req_ours.values()), sum(req_floor.values())))} |"
        )
        create = ((results.get("requests") or {}).get(kind) or {}).get("create") or {}
        if create.get("ours"):
            rows.append(
                f"| admin requests to make one new {kind} Ready | {_requests(create['ours'])} | "
                f"{_requests(create.get('floor'))} | "
                f"{_x(ratio(sum(create['ours'].values()), sum((create.get('floor') or {}).values())))} |"
            )
    rows += _render_rows(results)
    rss = results.get("rss") or {}
    workers = rss.get("workers_kib") or {}
    if workers:
        listed = ", ".join(f"{kib * 1024 / 1e6:.1f}" for kib in sorted(workers.values()))
        rows.append(
            f"| resident memory of each gunicorn worker after the runs (VmRSS) | {listed} MB | – | – |"
        )
    return rows


def _unconverged(results: Mapping[str, Any], kind: str, size: int) -> int:
    entry = (results.get("convergence") or {}).get(kind, {}).get(str(size)) or {}
    return sum(1 for run in entry.get("runs") or () if not run.get("converged", True))


def _render_rows(results: Mapping[str, Any]) -> list[str]:
    render_ = results.get("render")
    if not isinstance(render_, Mapping) or not render_.get("samples"):
        reason = render_ if isinstance(render_, str) else "not measured"
        return [f"| KafkaAccess render, 10 and 100 topics | {reason} | – | – |"]
    rows = []
    children = render_.get("children") or {}
    for label, key in (
        ("core `render` + children, in-process", "samples"),
        ("sync over HTTP", "http"),
    ):
        for size, samples in sorted((render_.get(key) or {}).items(), key=lambda kv: int(kv[0])):
            rows.append(
                f"| KafkaAccess with {size} topics ({children.get(size, '?')} children), "
                f"{label}, p50 / p99 (n={len(samples)}) | "
                f"{_ms(percentile(samples, 50))} / {_ms(percentile(samples, 99))} | – | – |"
            )
    return rows


def _metacontroller(results: Mapping[str, Any]) -> list[str]:
    mc = results.get("metacontroller") or {}
    if not mc:
        return []
    workers, qps, burst = mc.get("workers", 5), mc.get("qps", 5), mc.get("burst", 10)
    writes = mc.get("writes_per_new_resource")
    lines = [
        "## What Metacontroller adds",
        "",
        f"Metacontroller's defaults (`--workers={workers}` per controller, "
        f"`--client-go-qps={qps}`, `--client-go-burst={burst}` for all of its API calls "
        "together) put a ceiling on convergence that no hook can lift. Before the first "
        "sync of a parent it adds its finalizer (one API write), and after the sync it "
        "writes the status (a second write); an unchanged sync writes nothing.",
        "",
    ]
    if writes:
        for size in (100, 1000):
            need = max(0.0, (writes * size - burst) / qps)
            lines.append(
                f"- {size:,} new resources: {writes:g} writes each, {writes * size:,.0f} writes, "
                f"at least **{need:,.0f} s** at {qps} QPS, whatever the hook does."
            )
    throttled = mc.get("throttled_run")
    if throttled:
        lines.append(
            f"- Measured: {throttled['count']} KafkaTopics with the driver's token bucket at "
            f"{qps} QPS / burst {burst} took {_s(throttled['seconds'])} "
            f"({throttled['api_writes']} writes; its workers waited "
            f"{throttled['throttled_seconds']:.0f} s for tokens between them); unthrottled "
            "the same work took "
            f"{_s(throttled.get('unthrottled_seconds', math.nan))}."
        )
    for label in ("threads_run", "wide_run"):
        run = mc.get(label)
        if not run:
            continue
        refused = sum(v for k, v in (run.get("errors") or {}).items() if k.startswith("429"))
        lines.append(
            f"- Measured: {run['count']:,} {run['kind']}s with {run['workers']} workers against a "
            f"second hook server with `GUNICORN_THREADS={run['threads']}` (MAX_CONCURRENT "
            f"{run['slots']}) took {_s(run['seconds'])} ({refused} answers 429); with "
            f"{workers} workers and the shipped settings the median was "
            f"{_s(run.get('default_seconds', math.nan))}."
        )
    for kind, resync in (mc.get("resync") or {}).items():
        lines.append(
            f"- Steady state: every Ready {kind} is synced again after {resync['after']:g} s, "
            f"so 1,000 of them mean {resync['per_second']:.1f} unchanged syncs a second; at "
            f"the measured p50, {workers} workers serve about {resync['capacity']:,.0f} a "
            f"second ({resync['share'] * 100:.0f}% busy)."
        )
    lines += [
        "",
        "So with the defaults the API rate limit, not the hook, sets the pace: raise "
        "`--client-go-qps`/`--client-go-burst` (and `--workers`) for fleets of thousands.",
        "",
    ]
    return lines


def _profile(results: Mapping[str, Any]) -> list[str]:
    profile = results.get("profile") or {}
    if not profile:
        return []
    lines = [
        "## Where the time goes",
        "",
        "cProfile over the hook called in-process (Flask's test client, no HTTP), one "
        "sync at a time; cumulative seconds of the calls that matter, as a share of the "
        "profiled wall time. Full listings are in the run's directory.",
        "",
    ]
    for name, entry in profile.items():
        lines += [
            f"**{name}** ({entry['calls']} syncs, {entry['total']:.2f} s, "
            f"{entry['total'] / max(entry['calls'], 1) * 1000:.1f} ms a sync)",
            "",
            "| where | seconds | share |",
            "|---|---|---|",
        ]
        for row in entry["rows"]:
            lines.append(f"| {row['what']} | {row['seconds']:.3f} | {row['share'] * 100:.0f}% |")
        lines.append("")
    findings = results.get("findings") or []
    if findings:
        lines += ["What the numbers say and what would close the gaps:", ""]
        lines += [f"- {finding}" for finding in findings]
        lines.append("")
    return lines


def _machine(meta: Mapping[str, Any]) -> list[str]:
    versions = meta.get("versions") or {}
    lines = [
        "## Machine and versions",
        "",
        f"- {meta.get('nproc', '?')} cores ({meta.get('cpu', '?')}), "
        f"{meta.get('memory_gib', '?')} GiB memory, {meta.get('os', '?')}",
        f"- date {meta.get('date', '?')}; commit {meta.get('commit', '?')}"
        + (" with uncommitted changes in the work tree" if meta.get("dirty") else ""),
        "- " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- hook: gunicorn {meta.get('gunicorn_workers', '?')} workers × "
        f"{meta.get('gunicorn_threads', '?')} threads (hooks/gunicorn_conf.py), log level "
        f"{meta.get('log_level', '?')}; driver: {meta.get('driver_workers', '?')} workers; "
        f"topics {meta.get('topic_shape', '?')}; "
        f"ACLs {meta.get('acl_shape', '?')}",
        f"- whole run {meta.get('duration_s', 0):.0f} s",
        "",
    ]
    return lines


def _notes(results: Mapping[str, Any]) -> list[str]:
    notes = results.get("notes") or []
    if not notes:
        return []
    return ["## Notes", "", *[f"- {note}" for note in notes], ""]


# -- the plot -----------------------------------------------------------------


def plot_convergence(results: Mapping[str, Any], path: Path, size: int = 1000) -> Path | None:
    """Resources Ready over time for ``size`` of each kind; None when nothing was measured."""
    timelines = results.get("timelines") or {}
    kinds = [k for k in KINDS if (timelines.get(k) or {}).get(str(size))]
    if not kinds:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4.2), squeeze=False)
    for axis, kind in zip(axes[0], kinds, strict=True):
        runs = ((results.get("convergence") or {}).get(kind, {}).get(str(size)) or {}).get("runs")
        for index, times in enumerate(timelines[kind][str(size)]):
            errors = (runs[index].get("errors") or {}) if runs and index < len(runs) else {}
            refused = sum(v for k, v in errors.items() if k.startswith("429"))
            axis.step(
                [0.0, *times],
                range(len(times) + 1),
                where="post",
                linewidth=1.4,
                label=f"kafka-access, run {index + 1}"
                + (f" ({refused} answers 429)" if refused else ""),
            )
        _, floor = _convergence(results, kind, size)
        each = _floor_each(results, kind, size)
        if each:
            axis.axvline(median(each), color="grey", linestyle="-.", linewidth=1)
            axis.text(median(each), size * 0.5, " bare, one request each", fontsize=8)
        if floor:
            axis.axvline(median(floor), color="black", linestyle="--", linewidth=1)
            axis.text(median(floor), size * 0.04, " bare batched create", fontsize=8)
            if kind == "KafkaTopic":
                limit = TARGET_CONVERGE * median(floor)
                axis.axvline(limit, color="red", linestyle=":", linewidth=1)
                axis.text(limit, size * 0.12, f" target: {TARGET_CONVERGE:g}× floor", fontsize=8)
        axis.set_title(f"{size:,} {kind}s becoming Ready")
        axis.set_xlabel("seconds since all were queued")
        axis.set_ylabel("Ready")
        axis.set_ylim(0, size * 1.03)
        axis.set_xlim(left=0)
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    mc = results.get("metacontroller") or {}
    if mc.get("writes_per_new_resource"):
        floor_s = (mc["writes_per_new_resource"] * size - mc.get("burst", 10)) / mc.get("qps", 5)
        figure.suptitle(
            f"Not shown: Metacontroller's default API rate ({mc.get('qps', 5)} QPS) alone needs "
            f"≥ {floor_s:,.0f} s for {size:,} new resources",
            fontsize=9,
        )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
