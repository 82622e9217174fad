"""PNG plots for the report, drawn with matplotlib's object API (no global pyplot state)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from bench.load import Samples
from bench.wrk import WrkResult

LATENCY_PERCENTILES = (50, 90, 99)


def throughput_and_latency(results: Sequence[WrkResult], *, title: str, path: Path) -> Path:
    """Requests/s and latency percentiles against the number of connections, side by side."""
    connections = [r.connections for r in results]
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    throughput, latency = figure.subplots(1, 2)
    throughput.plot(connections, [r.requests_per_second for r in results], marker="o")
    throughput.set(title="Throughput", xlabel="connections", ylabel="requests per second")
    for percentile in LATENCY_PERCENTILES:
        milliseconds = [r.ms(percentile) for r in results]
        latency.plot(connections, milliseconds, marker="o", label=f"p{percentile}")
    latency.set(title="Latency (log scale)", xlabel="connections", ylabel="milliseconds")
    latency.set_yscale("log")
    latency.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    latency.legend()
    throughput.set_ylim(bottom=0)
    for axes in (throughput, latency):
        axes.set_xscale("log", base=2)
        axes.set_xticks(connections, labels=[str(c) for c in connections])
        axes.grid(alpha=0.3, which="both")
    figure.suptitle(title)
    figure.savefig(path, dpi=110)
    return path


def latency_bars(scenarios: Mapping[str, Samples], *, title: str, path: Path) -> Path:
    """p50 and p95 of each scenario as horizontal bars (log scale), first scenario on top."""
    labels = list(scenarios)
    figure = Figure(figsize=(11, 0.9 + 0.7 * len(labels)), layout="constrained")
    axes = figure.subplots()
    height = 0.38
    for offset, percentile in ((-height / 2, 50), (height / 2, 95)):
        milliseconds = [scenarios[label].percentile(percentile) * 1000 for label in labels]
        positions = [index + offset for index in range(len(labels))]
        axes.barh(positions, milliseconds, height=height, label=f"p{percentile}")
    axes.set_yticks(range(len(labels)), labels=labels)
    axes.invert_yaxis()
    axes.set(title=title, xlabel="milliseconds (log scale)")
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    axes.grid(alpha=0.3, axis="x", which="both")
    axes.legend()
    figure.savefig(path, dpi=110)
    return path
