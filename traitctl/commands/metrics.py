"""``traitctl metrics``: telemetry recorded, ingested, shown by trait, analysed and exported.

``traitctl metrics`` alone shows the dashboard: one row per trait, its metrics over a window.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any, Optional

import typer

from traitctl.commands.common import (CONTEXT_SETTINGS, DryRunSummaryOpt, JsonOpt, ModelOpt, OptTraitOpt, TenantOpt,
                                      YesOpt, app_for, examples, format_option, limit_option)
from traitctl.context import App
from traitctl.engine.errors import InputError

app = typer.Typer(help="Telemetry. Alone: the dashboard by trait (options below); subcommands for the rest.",
                  invoke_without_command=True, add_completion=False, context_settings=CONTEXT_SETTINGS,
                  epilog=examples("traitctl metrics --since 7d --trait Cacheable",
                                  "traitctl metrics record trait.Cacheable.hits 1 --label tenant=acme",
                                  "traitctl metrics show trait.Cacheable.hits --since 1h --interval 5m",
                                  "traitctl metrics export --format prometheus"))

SinceOpt = Annotated[str, typer.Option("--since", help="Window: a duration back from now (1h, 7d) "
                                                       "or a start time (ISO 8601).")]
LabelOpt = Annotated[Optional[list[str]], typer.Option("--label", "-L", help="NAME=VALUE (repeatable).")]
LimitOpt = Annotated[int, limit_option("rows in a table (--json gives all)")]
FORMATS_VIEW = ("table", "csv", "json")


def _now() -> float:
    return time.time()


def _since(text: str, now: float) -> float:
    """A window start from ``1h`` (back from now) or a time."""
    from traitctl.metrics_service import since as window_start

    return window_start(text, now)


def _labels(pairs: Optional[list[str]]) -> dict[str, str]:
    from traitctl.engine.telemetry_formats import parse_label_arg

    return dict(parse_label_arg(p) for p in pairs or [])


def _iso(ts: float | None) -> str | None:
    from traitctl.metrics_service import iso

    return iso(ts)


def _when(ts: float | None) -> str:
    from traitctl.output import human_time

    return human_time(ts)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def _shown(summary) -> str:
    """The dashboard's number; a saturated sum says so (it is not the exact total)."""
    text = _number(summary.shown)
    return f"{text} (overflow)" if summary.overflow and summary.series.kind != "gauge" else text


def _cap(rows: list, limit: int, what: str) -> tuple[list, str | None]:
    """Cap table rows (Rich needs ~1 s for 1,000 rows) and say so in the caption."""
    if limit and len(rows) > limit:
        return rows[:limit], f"{limit} of {len(rows)} {what} shown; --limit 0 shows all, --json gives all."
    return rows, None


def _check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    if fmt not in allowed:
        raise InputError(f"Unknown --format {fmt!r}: use {', '.join(allowed)}.")
    return fmt


def _csv(rows: list[list[Any]]) -> None:
    import csv
    import io

    from traitctl.output import printable

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    sys.stdout.write(printable(buf.getvalue()))  # label values may hold control characters


# -- the dashboard ------------------------------------------------------------------------------
@app.callback()
def dashboard(
    ctx: typer.Context,
    since: SinceOpt = "24h",
    trait: OptTraitOpt = None,
    model: ModelOpt = None,
    tenant: TenantOpt = None,
    fmt: Annotated[str, format_option(*FORMATS_VIEW)] = "table",
    limit: LimitOpt = 100,
    json: JsonOpt = False,
) -> None:
    """The dashboard: one row per trait, a column per metric over the window (a counter's total,
    a gauge's latest value, a timing's mean)."""
    if ctx.invoked_subcommand is not None:
        return
    from traitctl import metrics_service

    app_ = app_for(json or fmt == "json")
    fmt = "json" if app_.out.json_mode else _check_format(fmt, FORMATS_VIEW)
    now = _now()
    start = _since(since, now)
    repo = app_.store().metrics
    if trait is not None:
        trait = _known_trait(app_, repo, trait)
    grouped = metrics_service.dashboard(repo, start, trait=trait, model=model, tenant=tenant)
    if fmt == "json":
        app_.out.json(metrics_service.dashboard_document(repo, start, now, trait=trait, model=model, tenant=tenant,
                                                         grouped=grouped))
    elif fmt == "csv":
        _csv([["trait", "metric", "kind", "value", "count"]] + [[t, m, s.series.kind, s.shown, s.count]
                                                                  for t, ms in grouped.items() for m, s in ms.items()])
    else:
        _dashboard_table(app_, grouped, since, limit)


def _known_trait(app_: App, repo: Any, trait: str) -> str:
    """A trait with telemetry, or a configured one; anything else is unknown, with near names."""
    from traitctl.engine.config import match_name

    with_points = {s.labels["trait"] for s in repo.series() if s.labels.get("trait")}
    if trait in with_points:
        return trait
    return match_name("trait", trait, with_points | set(app_.config().traits))


def _dashboard_table(app_: App, grouped: dict, since: str, limit: int) -> None:
    if not grouped:
        app_.out.success(f"No trait metrics in the last {since}. Record some with `traitctl metrics record` "
                         "or `traitctl metrics ingest`.")
        return
    columns = sorted({m for ms in grouped.values() for m in ms})
    rows = [[trait] + [_shown(ms[c]) if c in ms else "" for c in columns] for trait, ms in grouped.items()]
    rows, caption = _cap(rows, limit, "traits")
    app_.out.table(["Trait", *columns], rows, title=f"Trait metrics, last {since}", caption=caption)


# -- ingestion ----------------------------------------------------------------------------------
@app.command()
def record(
    name: Annotated[str, typer.Argument(help="Metric name, e.g. trait.HasUuid.generated.")],
    value: Annotated[str, typer.Argument(help="The value (a counter's increment).")],
    kind: Annotated[str, typer.Option("--kind", "-k", help="counter, gauge or timing.")] = "counter",
    label: LabelOpt = None,
    at: Annotated[Optional[str], typer.Option("--at", help="When (ISO 8601, epoch seconds, -5m); default now.")] = None,
    dry_run: DryRunSummaryOpt = False,
    json: JsonOpt = False,
) -> None:
    """Record one point (metrics are not history: no event is recorded)."""
    from traitctl.engine import telemetry_formats as tf

    app_ = app_for(json)
    now = _now()
    point = tf.make_point(name, value, kind, _labels(label), now if at is None else tf.parse_time(at, now))
    repo = app_.store().metrics
    known = repo.known_kinds().get(point.name)
    if known is not None and known != point.kind:  # what write() refuses, said before a dry run succeeds
        raise InputError(f"Metric {point.name} is a {known}; it cannot take {point.kind} points.")
    if not dry_run:
        repo.write([point])
    if app_.out.json_mode:
        app_.out.json({"name": point.name, "kind": point.kind, "value": point.value, "ts": _iso(point.ts),
                       "labels": point.labels, "dry_run": dry_run, "events": []})
    elif dry_run:
        app_.out.line(f"Would record {point.name} = {_number(point.value)} ({point.kind}) at {_when(point.ts)} UTC "
                      "(dry run: nothing written).")
    else:
        app_.out.success(f"Recorded {point.name} = {_number(point.value)} ({point.kind}).")


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="File to read, or - for standard input.")],
    fmt: Annotated[str, format_option("jsonl", "prometheus", "statsd", "laravel-log")] = "jsonl",
    strict: Annotated[bool, typer.Option("--strict", help="Any bad line: store nothing, exit 2.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Parse and count the points; store nothing.")] = False,
    final: Annotated[bool, typer.Option("--final", help="The file is finished: also read a last line that has no "
                                        "newline (otherwise it is still being written and waits for the next ingest).")] = False,
    from_start: Annotated[bool, typer.Option("--from-start", help="Read FILE from its first line, not from where "
                                             "its last ingest stopped (its points are then stored again).")] = False,
    json: JsonOpt = False,
) -> None:
    """Store the points of a file (bad lines are counted, reported and skipped).

    A FILE goes on where its last ingest stopped (nothing is stored twice), reads complete lines
    only (a last line without its newline waits for the next ingest, unless --final) and follows
    rotation (the rest of the renamed old file first). Standard input (-) is read whole.
    """
    from traitctl import telemetry
    from traitctl.engine.telemetry_formats import FORMATS

    app_ = app_for(json)
    _check_format(fmt, FORMATS)
    repo = app_.store().metrics
    tail = None if source == "-" else _tail(source, repo.db, final, from_start)
    with (_lines_of(tail) if tail else _open_source(source)) as stream, _progress(app_, source) as bar:
        report = telemetry.ingest(repo, _counted(stream, bar) if bar else stream, fmt, now=_now(), strict=strict,
                                  dry_run=dry_run, first_line=tail.first_line if tail else 1,
                                  on_commit=tail.save if tail else None)
    held = tail.held_back if tail else 0
    if app_.out.json_mode:
        app_.out.json({"dry_run": dry_run, "events": [], "stored": 0 if dry_run else report.stored,
                       "would_store": report.stored if dry_run else None, "skipped": report.skipped,
                       "bad": report.bad, "bad_lines": [{"line": n, "reason": r} for n, r in report.examples],
                       "unfinished_bytes": held, "rotated_from": tail.rotated_from if tail else None})
    elif dry_run:
        app_.out.line(f"Would store {report.stored} point(s) from {source}; {report.skipped} line(s) without a "
                      "metric (dry run: nothing stored).")
    else:
        app_.out.success(f"Stored {report.stored} point(s) from {source}; {report.skipped} line(s) without a metric."
                         + (f" Read the rest of {tail.rotated_from} (rotated) first." if tail and tail.rotated_from
                            else ""))
    if held and not app_.out.json_mode:
        app_.out.warn(f"{source}: its last line has no newline yet ({held} bytes): left for the next ingest "
                      "(--final reads it now).")
    if report.bad:
        app_.out.warn(f"{source}: {report.bad_summary()}; the good lines "
                      + ("would be stored." if dry_run else "were stored."))


def _progress(app_: App, source: str):
    """A progress bar over the file's size on a terminal's stderr; ``None`` (no cost) otherwise."""
    import os
    from contextlib import nullcontext

    if source == "-" or not sys.stderr.isatty() or app_.out.quiet or app_.out.json_mode:
        return nullcontext(None)
    try:
        return app_.out.progress(os.path.getsize(source), f"Ingesting {source}")
    except OSError:
        return nullcontext(None)


def _counted(stream, bar):
    """The stream's lines, advancing ``bar`` by their length every 10,000 lines."""
    done = 0
    for number, line in enumerate(stream):
        done += len(line)
        if number % 10_000 == 9_999:
            bar.advance(done)
            done = 0
        yield line
    bar.advance(done)


def _tail(source: str, db, final: bool, from_start: bool):
    """Where FILE's new lines start (:class:`traitctl.metrics_service.Tail`); a file that cannot be
    read is one sentence."""
    import os
    import stat

    from traitctl.metrics_service import Tail

    try:
        mode = os.stat(source).st_mode
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):  # a device gives bytes without end
            raise InputError(f"{source} is a device, pipe or socket, not a file: ingest FILE reads files (going on "
                             f"where the last ingest stopped); stream anything else through standard input: "
                             f"traitctl metrics ingest - < {source}.")
        return Tail(source, db, final=final, from_start=from_start)
    except OSError as exc:
        raise InputError(f"Cannot read {source}: {exc.strerror}.") from None


def _lines_of(tail):
    from contextlib import closing

    return closing(tail.lines())


def _open_source(source: str):
    from contextlib import nullcontext

    if source == "-":
        return nullcontext(sys.stdin)
    try:
        return open(source, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"Cannot read {source}: {exc.strerror}.") from None


# -- series and trends --------------------------------------------------------------------------
def _series_of(app_: App, name: str, labels: dict) -> list:
    from traitctl.metrics_service import series_of

    return series_of(app_.store().metrics, name, labels)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Metric name.")],
    by: Annotated[Optional[str], typer.Option("--by", help="A label: one column per value.")] = None,
    since: SinceOpt = "1h",
    interval: Annotated[str, typer.Option("--interval", "-i", help="Interval per row (1m, 5m, 1h).")] = "1m",
    label: LabelOpt = None,
    limit: LimitOpt = 60,
    json: JsonOpt = False,
) -> None:
    """A series over time, one row per interval (newest last), with a chart on a terminal."""
    from traitctl.engine import telemetry_formats as tf
    from traitctl.engine import trends

    app_ = app_for(json)
    now = _now()
    step = tf.parse_duration(interval)
    start, count = trends.aligned_window(now, now - _since(since, now), step)
    series = _series_of(app_, name, _labels(label))
    cells = app_.store().metrics.buckets(series, start, start + count * step, step)
    group_of = {s.id: (s.labels.get(by, "(none)") if by else name) for s in series}
    kind = series[0].kind
    columns = {g: dict(trends.interval_values(kind, c, start, step, count))
               for g, c in sorted(trends.group_cells(cells, group_of).items())}
    times = [start + k * step for k in range(count)]
    if app_.out.json_mode:
        app_.out.json({"name": name, "kind": kind, "by": by, "interval_seconds": step,
                       "series": {g: [{"ts": _iso(t), "value": v.get(t)} for t in times] for g, v in columns.items()}})
        return
    _show_table(app_, name, kind, columns, times, limit)


def _show_table(app_: App, name: str, kind: str, columns: dict, times: list, limit: int) -> None:
    if not columns:
        app_.out.success(f"No points of {name} in that window.")
        return
    rows = [[_when(t)] + [_number(v.get(t)) for v in columns.values()] for t in times]
    shown, caption = _cap(rows[::-1], limit, "intervals")
    app_.out.table(["Interval start (UTC)", *columns], shown[::-1], title=f"{name} ({kind})", caption=caption)
    if sys.stdout.isatty() and not app_.out.quiet:
        _chart(app_, columns, times)


def _chart(app_: App, columns: dict, times: list) -> None:
    """A terminal plot (plotext 6 API), only when stdout is a terminal; x is minutes before now."""
    import shutil

    import plotext as plt

    fig = plt.figure
    fig.clear()
    fig.plot_size(min(shutil.get_terminal_size().columns, 120), 14)
    fig.theme("default" if app_.out.color else "colorless")
    end = times[-1]
    for group, values in columns.items():
        xs = [(t - end) / 60 for t in times if t in values]
        if xs:
            fig.draw(fig.signal(xs, [values[t] for t in times if t in values], marker="hd").lines().label(str(group)))
    text = str(fig.build())
    app_.out.line(text if app_.out.color else plt.uncolorize(text))


@app.command()
def trends(
    name: Annotated[str, typer.Argument(help="Metric name.")],
    period: Annotated[str, typer.Option("--period", help="How far back (1h, 1d).")] = "1h",
    interval: Annotated[str, typer.Option("--interval", "-i", help="Interval per data point (1m).")] = "1m",
    label: LabelOpt = None,
    json: JsonOpt = False,
) -> None:
    """Statistics, least-squares trend (slope, R² as confidence, direction) and the next interval's
    forecast (the queue-metrics seed's trend analysis)."""
    from traitctl import metrics_service
    from traitctl.engine import telemetry_formats as tf

    app_ = app_for(json)
    seconds, step = tf.parse_duration(period), tf.parse_duration(interval)
    doc = metrics_service.trends_document(app_.store().metrics, name, _now(), period=seconds, interval=step,
                                          labels=_labels(label), period_text=period)
    if app_.out.json_mode:
        app_.out.json(doc)
        return
    _trend_table(app_, name, period, interval, doc)


def _trend_table(app_: App, name: str, period: str, interval: str, doc: dict) -> None:
    stats, trend, forecast = doc["statistics"], doc["trend"], doc["forecast"]
    rows = [["data points", str(doc["data_points"])]]
    rows += [[key.replace("_", " "), _number(value)] for key, value in stats.items()]
    rows += [["slope (per second)", f"{trend['slope']:.6g}"], ["intercept", _number(trend["intercept"])],
             ["direction", trend["direction"]], ["confidence (R²)", f"{trend['confidence']:.3f}"],
             ["forecast next interval", _number(forecast["next_value"])],
             ["forecast at (UTC)", _when(forecast["next_timestamp"])]]
    app_.out.table(["", name], rows, title=f"Trend of {name}: last {period} by {interval}",
                   caption="direction: stable unless the line moves more than 5% of the mean over the period")


# -- workers and server ---------------------------------------------------------------------------
@app.command()
def workers(
    stale_after: Annotated[Optional[float], typer.Option("--stale-after", help="Seconds without a heartbeat "
                           "after which a worker is lost (default: [jobs] lost_after). A worker on this host "
                           "whose process is gone is lost at once.")] = None,
    limit: LimitOpt = 100,
    json: JsonOpt = False,
) -> None:
    """Worker heartbeats: state, jobs done, memory (RSS, peak), CPU, last seen."""
    import datetime as dt

    from traitctl.engine.jobs import parse_jobs_settings
    from traitctl.jobs import liveness

    app_ = app_for(json)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    max_age = stale_after if stale_after is not None else parse_jobs_settings(app_.main_doc().get("jobs", {})).lost_after
    beats = app_.store().workers.list()
    lost = liveness.lost_reasons(beats, now, max_age)
    if app_.out.json_mode:
        from traitctl.metrics_service import workers_document

        app_.out.json(workers_document(beats, now, max_age))
        return
    if not beats:
        app_.out.success("No worker has reported a heartbeat. Start one with `traitctl worker`.")
        return
    rows = [[b.worker_id, b.state if lost[b.worker_id] is None or b.state == "stopped" else f"{b.state} (lost)",
             b.queue, b.jobs_done, b.jobs_failed, f"{b.rss_mb:.1f}", f"{b.peak_rss_mb:.1f}", f"{b.cpu_percent:.1f}",
             f"{b.age(now):.0f}s ago"] for b in beats]
    rows, caption = _cap(rows, limit, "workers")
    app_.out.table(["Worker", "State", "Queue", "Done", "Failed", "RSS MB", "Peak MB", "CPU %", "Last seen"],
                   rows, title="Workers", caption=caption)


@app.command()
def server(
    check: Annotated[bool, typer.Option("--strict", help="Exit 1 when a check is critical.")] = False,
    json: JsonOpt = False,
) -> None:
    """CPU, load, memory, disk per mount and network per interface, with warning/critical status
    (thresholds in [telemetry.server])."""
    from traitctl.engine import serverstats

    app_ = app_for(json)
    section = app_.main_doc().get("telemetry", {})
    thresholds = serverstats.thresholds_from(section.get("server") if isinstance(section, dict) else None)
    snapshot = _server_snapshot()
    checks = serverstats.evaluate(snapshot, thresholds)
    status = serverstats.overall(checks)
    if app_.out.json_mode:
        app_.out.json({"status": status, "checks": checks, **snapshot})
    else:
        _server_tables(app_, snapshot, checks, status)
    if check and status == "critical":
        raise typer.Exit(1)


def _server_snapshot() -> dict:
    """Resources now, from psutil (CPU sampled over 0.3 s)."""
    import os

    import psutil

    memory = psutil.virtual_memory()
    disks = []
    for part in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:  # unreadable or vanished mounts are not the server's health
            continue
        disks.append({"mount": part.mountpoint, "fstype": part.fstype, "total": usage.total, "used": usage.used,
                      "percent": usage.percent})
    network = [{"interface": nic, "bytes_sent": c.bytes_sent, "bytes_recv": c.bytes_recv, "errors": c.errin + c.errout,
                "drops": c.dropin + c.dropout} for nic, c in sorted(psutil.net_io_counters(pernic=True).items())]
    return {"cpu": {"percent": psutil.cpu_percent(interval=0.3), "cores": psutil.cpu_count() or 1,
                    "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else []},
            "memory": {"total": memory.total, "used": memory.used, "available": memory.available,
                       "percent": memory.percent},
            "disks": disks, "network": network}


def _server_tables(app_: App, snapshot: dict, checks: list, status: str) -> None:
    rows = [[c.name, c.subject, _number(c.value), f"{c.warning:g} / {c.critical:g}", c.status] for c in checks]
    app_.out.table(["Check", "Subject", "Value", "Warning / critical", "Status"], rows, title=f"Server: {status}")
    mib = 1024 * 1024
    app_.out.table(["Interface", "Sent MiB", "Received MiB", "Errors", "Drops"],
                   [[n["interface"], f"{n['bytes_sent'] / mib:.1f}", f"{n['bytes_recv'] / mib:.1f}", n["errors"],
                     n["drops"]] for n in snapshot["network"]], title="Network")


# -- export and reset -----------------------------------------------------------------------------
@app.command()
def export(
    fmt: Annotated[str, format_option("prometheus", "json", "csv")] = "prometheus",
    since: Annotated[Optional[str], typer.Option("--since", help="Only points in this window "
                                                 "(json/csv; Prometheus always exports running totals).")] = None,
    trait: OptTraitOpt = None,
    json: JsonOpt = False,
) -> None:
    """Every series: the Prometheus text format (HELP/TYPE, counters as _total), or JSON/CSV
    summaries (count, sum, min, max, mean, last)."""
    from traitctl.engine import telemetry_formats as tf

    app_ = app_for(fmt == "json" or json)
    fmt = "json" if app_.out.json_mode else _check_format(fmt, ("prometheus", "json", "csv"))
    repo = app_.store().metrics
    start = None if since is None else _since(since, _now())  # checked for every format
    start = None if fmt == "prometheus" else start
    summaries = repo.summaries(repo.series(trait=trait), start, None)
    if fmt == "prometheus":
        sys.stdout.write(tf.prometheus_text(summaries))
    elif fmt == "json":
        app_.out.json({"since": _iso(start), "series": [{"name": s.series.name, "labels": s.series.labels,
                                                        **tf.summary_dict(s)} for s in summaries]})
    else:
        _csv([["name", "kind", "labels", "count", "sum", "min", "max", "avg", "last", "last_ts"]] +
             [[s.series.name, s.series.kind, tf.labels_text(s.series.labels), s.count, s.sum, s.min, s.max,
               s.avg, s.last, _iso(s.last_ts)] for s in summaries])


@app.command()
def reset(
    trait: OptTraitOpt = None,
    dry_run: DryRunSummaryOpt = False,
    yes: YesOpt = False,
    json: JsonOpt = False,
) -> None:
    """Delete recorded metrics (all, or one trait's); recorded in history (asks first, --yes off a terminal)."""
    from traitctl.commands.common import command_line, event_ref

    app_ = app_for(json)
    store = app_.store()
    series = store.metrics.series(trait=trait)
    what = f"{len(series)} series" + (f" of trait {trait}" if trait else "")
    if dry_run or not series:
        points = sum(s.count for s in store.metrics.summaries(series, None, None)) if series else 0
        if app_.out.json_mode:
            app_.out.json({"dry_run": dry_run, "events": [], "series": len(series), "points": points})
        elif not series:
            app_.out.success("No metrics to reset." if trait is None else f"No metrics recorded for trait {trait}.")
        else:
            app_.out.line(f"Would delete {what} ({points} points; dry run: nothing deleted).")
        return
    _confirm(f"Delete {what} and all their points?", yes)
    deleted = store.metrics.delete(series)
    event = store.events.record(kind="metrics.reset", actor=app_.settings.actor, command=command_line(),
                                trait=trait, data={"series": len(series), "points": deleted})
    if app_.out.json_mode:
        app_.out.json({"dry_run": False, "events": [event.id], "series": len(series), "points": deleted,
                       "event": event.id})
    else:
        app_.out.success(f"Deleted {what} ({deleted} points){event_ref([event])}.")


def _confirm(question: str, yes: bool) -> None:
    from traitctl.commands.common import confirm

    confirm(question, yes)


# -- queues ---------------------------------------------------------------------------------------
@app.command()
def queues(
    queue: Annotated[Optional[list[str]], typer.Option("--queue", "-Q", help="A queue name (repeatable); "
                     "default: [jobs] queue and the queues workers reported.")] = None,
    interval: Annotated[str, typer.Option("--interval", "-i", help="Throughput interval (1m, 5m, 1h).")] = "1m",
    intervals: Annotated[int, typer.Option("--intervals", min=1, max=60, help="How many intervals back.")] = 6,
    json: JsonOpt = False,
) -> None:
    """Queue depth (pending, scheduled, oldest pending age) and jobs finished per interval."""
    import datetime as dt

    from traitctl.engine import telemetry_formats as tf
    from traitctl.jobs import queue as job_queue

    app_ = app_for(json)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    step = dt.timedelta(seconds=tf.parse_duration(interval))
    from traitctl.engine.timeparse import MAX_DURATION_DAYS

    if step * intervals > dt.timedelta(days=MAX_DURATION_DAYS):
        raise InputError(f"--interval {interval} × --intervals {intervals} reaches back more than {MAX_DURATION_DAYS}d "
                         "(100 years): use fewer or shorter intervals.")
    stats = [job_queue.stats(app_.settings.queue_url, name, now) for name in _queue_names(app_, queue)]
    cumulative = [app_.store().jobs.throughput(now - step * k) for k in range(intervals + 1)]
    rows = [{"start": now - step * (k + 1), "end": now - step * k,
             **{state: cumulative[k + 1][state] - cumulative[k][state] for state in cumulative[0]}}
            for k in range(intervals)]
    if app_.out.json_mode:
        app_.out.json({"queues": stats, "throughput": {"interval_seconds": step.total_seconds(), "intervals": rows}})
        return
    _queue_tables(app_, stats, rows, interval)


def _queue_names(app_: App, given: Optional[list[str]]) -> list[str]:
    if given:
        return list(dict.fromkeys(given))
    jobs = app_.main_doc().get("jobs", {})
    configured = jobs.get("queue", "default") if isinstance(jobs, dict) else "default"
    return sorted({str(configured)} | {beat.queue for beat in app_.store().workers.list()})


def _queue_tables(app_: App, stats: list, rows: list, interval: str) -> None:
    app_.out.table(["Queue", "Backend", "Pending", "Scheduled", "Oldest pending"],
                   [[s.name, s.backend, s.pending, s.scheduled,
                     "" if s.oldest_pending_age_s is None else f"{s.oldest_pending_age_s:.0f}s"] for s in stats],
                   title="Queues")
    states = [k for k in rows[0] if k not in ("start", "end")] if rows else []
    app_.out.table(["Interval (UTC)", *states],
                   [[f"{r['start']:%H:%M:%S}-{r['end']:%H:%M:%S}", *(r[s] for s in states)] for r in rows],
                   title=f"Jobs finished per {interval} (newest first)")
