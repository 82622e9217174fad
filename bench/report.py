"""The pieces of ``REPORT.md``: each benchmark returns a ``Section``; the runner assembles them."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]

    def markdown(self) -> str:
        lines = [self.columns, ["---"] * len(self.columns), *self.rows]
        return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


@dataclass(frozen=True)
class Section:
    """One benchmark's part of the report.

    ``method`` says what ran (tool, durations, configuration); ``summary`` is the one-line
    reading of the figures; ``plots`` are PNG files under ``bench/``.
    """

    title: str
    method: str
    summary: str = ""
    tables: Sequence[Table] = ()
    plots: Sequence[Path] = ()

    def markdown(self, report_dir: Path) -> str:
        parts = [f"## {self.title}", self.method]
        if self.summary:
            parts.append(f"**{self.summary}**")
        parts += [table.markdown() for table in self.tables]
        parts += [
            f"![{plot.stem}]({plot.relative_to(report_dir).as_posix()})" for plot in self.plots
        ]
        return "\n\n".join(parts)


def render(*, header: str, machine: Table, sections: Sequence[Section], report_dir: Path) -> str:
    parts = [
        "# Benchmarks",
        header,
        "## Machine",
        machine.markdown(),
        *(section.markdown(report_dir) for section in sections),
    ]
    return "\n\n".join(parts) + "\n"
