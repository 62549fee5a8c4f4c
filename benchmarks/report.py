"""The report files of a run: Markdown, JSON and (with matplotlib, the ``bench`` extra) a chart."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any

from dbsync_core._bench import CORE, FLOOR, ORM, render_markdown

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["CHART_MISSING", "write_chart", "write_report"]

CHART_MISSING = (
    "chart skipped: matplotlib is not installed (pip install 'dbsync_core[bench]' adds it)"
)


def write_report(
    report: Mapping[str, Any], out: Path, *, chart: bool = True
) -> tuple[list[Path], str | None]:
    """``report.md``, ``report.json`` and ``report.png`` into ``out``; the note is set when the
    chart was wanted but could not be drawn."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    md = out / "report.md"
    md.write_text(render_markdown(report))
    written.append(md)
    js = out / "report.json"
    js.write_text(json.dumps(report, indent=1, default=str) + "\n")
    written.append(js)
    note = None
    if chart:
        png = out / "report.png"
        if write_chart(report, png):
            written.append(png)
        else:
            note = CHART_MISSING
    return written, note


def write_chart(report: Mapping[str, Any], path: Path) -> bool:
    """Time per call relative to the floor, per workload, for dbsync_core and the ORM (log
    scale); False when matplotlib is missing."""
    try:
        mpl = importlib.import_module("matplotlib")
        mpl.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return False
    workloads = list(reversed(report["workloads"]))
    titles = [w["title"] for w in workloads]
    core = [w["paths"][CORE]["median_s"] / w["paths"][FLOOR]["median_s"] for w in workloads]
    orm = [w["paths"][ORM]["median_s"] / w["paths"][FLOOR]["median_s"] for w in workloads]
    height = 0.38
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(workloads) + 1.8), dpi=110)
    ys = range(len(workloads))
    ax.barh([y + height / 2 for y in ys], core, height, label="dbsync_core", color="#2a7ab9")
    ax.barh([y - height / 2 for y in ys], orm, height, label="SQLAlchemy ORM", color="#d9822b")
    for y, (c, o) in enumerate(zip(core, orm, strict=True)):
        ax.text(c * 1.03, y + height / 2, f"{c:.2f}x", va="center", fontsize=7)
        ax.text(o * 1.03, y - height / 2, f"{o:.1f}x", va="center", fontsize=7)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    values = [*orm, *core, 1.0]
    low, high = min(values) * 0.7, max(values) * 2.2
    ticks = [t for t in (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100) if low <= t <= high]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlim(low, high)
    ax.minorticks_off()
    ax.set_yticks(list(ys), titles, fontsize=8)
    ax.set_xlabel("time per call ÷ raw asyncpg on the same SQL (1 = the floor; lower is better)")
    env = report["environment"]
    chain = report.get("chain", {}).get("description", "")
    ax.set_title(
        f"dbsync_core and the SQLAlchemy ORM against raw asyncpg ({report['mode']} run)\n"
        f"{chain}\nPostgreSQL {env.get('postgresql', '?').split()[0]}, Python {env['python']}, "
        f"SQLAlchemy {env['sqlalchemy']}, asyncpg {env['asyncpg']}; medians",
        fontsize=9,
    )
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
