# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""``plan --html FILE``: the plan as one self-contained page, for change approval.

Inline CSS and SVG only (no script, no fonts, nothing fetched): the figures, the timeline
(one row per host, time across; each migration a bar on its source's row, each conversion a
bar on its host's row, coloured by wave), then the step list. Built from the ``--json``
result, so the page shows exactly what the command printed.
"""

from __future__ import annotations

from html import escape
from typing import Any

from libvirt_static_ids.cli.render.plan import HEADINGS, duration

WIDTH = 960  # the time axis, in px
LABEL = 130
ROW = 14
WAVE_COLOURS = ("#2b6cb0", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#319795", "#97266d")
CONVERT = "#dd6b20"

_CSS = """
body { font: 14px/1.4 sans-serif; margin: 24px; color: #1a202c; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table.figures td { padding: 2px 12px 2px 0; } .bad { color: #c53030; font-weight: bold; }
svg text { font: 11px sans-serif; fill: #2d3748; } .legend span { padding: 0 6px; color: #fff; }
ol.steps li { font-family: monospace; white-space: pre-wrap; }
"""


def _figures(result: dict[str, Any]) -> str:
    stats, timed = result["stats"], result["schedule"]
    makespan, bound = timed["makespan_s"], timed["lower_bound_s"]
    rows = [
        ("status", HEADINGS[result["status"]]),
        ("target", f"{result['target']['uid']}:{result['target']['gid']}"),
        ("migrations", f"{stats['migrations']} (lower bound {stats['lower_bound']})"),
        ("suspended", str(stats["suspended"])),
        ("hosts converted", str(stats["hosts_converted"])),
        (
            "duration",
            f"{duration(makespan)} (lower bound {duration(bound)}; one at a time "
            f"{duration(timed['serial_s'])}), {timed['waves']} waves",
        ),
        ("bridges", f"{stats['bridges']} ({result['options']['bridge_mode']})"),
        (
            "checker",
            "proven" if result["check"]["ok"] else f"{len(result['check']['problems'])} problem(s)",
        ),
    ]
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="figures">{cells}</table>'


def _timeline(result: dict[str, Any]) -> str:
    tasks = result["schedule"]["tasks"]
    if not tasks:
        return "<p>Nothing to schedule.</p>"
    hosts = list(dict.fromkeys(task["host"] for task in tasks))
    row = {host: index for index, host in enumerate(hosts)}
    end = max(task["end"] for task in tasks) or 1.0
    scale = WIDTH / end
    height = ROW * len(hosts) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL + WIDTH + 10}" '
        f'height="{height}" role="img" aria-label="timeline">'
    ]
    for host, index in row.items():
        y = index * ROW
        parts.append(f'<text x="0" y="{y + ROW - 3}">{escape(host)}</text>')
    for tick in range(5):
        x = LABEL + WIDTH * tick / 4
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}" stroke="#e2e8f0"/>'
            f'<text x="{x:.1f}" y="{height - 6}">{escape(duration(end * tick / 4))}</text>'
        )
    for task in tasks:
        x = LABEL + task["start"] * scale
        width = max(1.0, (task["end"] - task["start"]) * scale)
        y = row[task["host"]] * ROW + 2
        if task["kind"] == "convert":
            colour, what = CONVERT, f"convert {task['host']}"
        else:
            colour = WAVE_COLOURS[(task["wave"] - 1) % len(WAVE_COLOURS)]
            what = f"{task['name']}: {task['host']} \u2192 {task['to']}"
        title = (
            f"wave {task['wave']}: {what}, {duration(task['start'])}\u2013{duration(task['end'])}"
        )
        parts.append(
            f'<rect class="bar {escape(task["kind"])}" x="{x:.1f}" y="{y}" width="{width:.1f}" '
            f'height="{ROW - 4}" fill="{colour}"><title>{escape(title)}</title></rect>'
        )
    parts.append("</svg>")
    waves = result["schedule"]["waves"]
    legend = "".join(
        f'<span style="background:{WAVE_COLOURS[(n - 1) % len(WAVE_COLOURS)]}">wave {n}</span>'
        for n in range(1, min(waves, len(WAVE_COLOURS)) + 1)
    )
    legend += f'<span style="background:{CONVERT}">conversion</span>'
    return f'<p class="legend">{legend}</p>' + "".join(parts)


def page(result: dict[str, Any]) -> str:
    target = f"{result['target']['uid']}:{result['target']['gid']}"
    problems = "".join(f"<li class='bad'>{escape(p)}</li>" for p in result["check"]["problems"])
    left = "".join(
        f"<li>not planned: {escape(e['host'])}: {escape(e['reason'])}</li>"
        for e in result["unplanned"]
    )
    held = "".join(f"<li class='bad'>target held by {escape(dn)}</li>" for dn in result["holders"])
    notes = "".join(f"<li>{escape(note)}</li>" for note in result["notes"])
    steps = "".join(f"<li>{escape(step['text'])}</li>" for step in result["steps"])
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>libvirt-static-ids plan to {escape(target)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Rolling conversion to {escape(target)}</h1>"
        f"{_figures(result)}<ul>{held}{problems}{left}{notes}</ul>"
        f"<h2>Timeline</h2>{_timeline(result)}"
        f"<h2>Steps</h2><ol class='steps'>{steps}</ol>"
        "</body></html>\n"
    )
