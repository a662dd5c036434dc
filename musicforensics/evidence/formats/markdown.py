"""A Markdown report: the same content as the HTML report, as text (figures linked when written beside it).

Text from files (names, tags, reasons, evidence) is escaped twice over: HTML-significant characters become
entities (Markdown viewers pass raw HTML through) and Markdown punctuation is backslash-escaped, so a file
name can neither inject markup nor break a table.
"""

from __future__ import annotations

import json
import re
from typing import Mapping, Sequence

from ...results import TrackReport
from .texts import (
    KNOWN_LIMITS, METHOD_NOTES, evidence_value_text, describe_format, flagged, status_counts, track_note, verdict_cell, verdict_counts,
)

#: Punctuation that can start markup inside a line: emphasis, code, links/images (``[`` is enough to stop
#: ``[x](url)`` and ``![x](url)``), table cells, strikethrough. Line-start markers (``#``, ``-``, ``1.``)
#: never apply: escaped text never starts a line (it follows "| ", "- kind: " or "### ").
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape(value) -> str:
    """Text safe inside Markdown (also inside a table cell): no markup, no HTML, one line."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.splitlines())



def render(reports: Sequence[TrackReport], *, summary: dict | None = None, meta: dict | None = None,
           figure_links: Mapping[str, str] | None = None, figure_notes: Mapping[str, str] | None = None) -> str:
    """The whole report as Markdown.

    Parameters
    ----------
    reports : sequence of TrackReport
    summary : dict, optional
        Accepted for the renderer interface.
    meta : dict, optional
        Run metadata.
    figure_links : mapping of path to str, optional
        Relative link to each flagged track's summary PNG.
    figure_notes : mapping of path to str, optional
        Why a flagged track has no figure.
    """
    meta = dict(meta or {})
    links = figure_links or {}
    notes = figure_notes or {}
    st = status_counts(reports)
    kinds, counts = verdict_counts(reports)
    out = ["# musicforensics report", ""]
    sub = [f"{len(reports)} files"]
    if meta.get("created"):
        sub.append(escape(meta["created"]))
    if meta.get("version"):
        sub.append(f"musicforensics {escape(meta['version'])}")
    out += [" · ".join(sub), "", "## Counts", "",
            f"{len(reports)} files: {st['ok']} ok, {st['inconclusive']} inconclusive, {st['error']} error(s); "
            f"{len(flagged(reports))} flagged.", ""]
    if kinds:
        cols = ("detected", "not detected", "inconclusive", "not run")
        out += ["| verdict | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        out += [f"| {escape(k)} | " + " | ".join(str(counts[k][c]) for c in cols) + " |" for k in kinds]
        out.append("")
    out += ["## Tracks", "",
            "| path | status | format | " + " | ".join(escape(k) for k in kinds) + (" | " if kinds else "")
            + "seconds | notes |",
            "|---|---|---|" + "---|" * len(kinds) + "---:|---|"]
    for r in reports:
        cells = [escape(r.path), escape(r.status), escape(describe_format(r.audio))]
        cells += [escape(verdict_cell(r, k)[0]) for k in kinds]
        cells += [f"{r.seconds:.2f}", escape(track_note(r))]
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "## Flagged tracks", ""]
    hits = flagged(reports)
    if not hits:
        out += ["No track was flagged.", ""]
    for r in hits:
        out += [f"### {escape(r.path)}", "", escape(describe_format(r.audio)), ""]
        for kind in sorted(r.verdicts):
            f = r.verdicts[kind]
            state = "INCONCLUSIVE" if f.inconclusive else ("**DETECTED**" if f.detected else "not detected")
            prob = "" if f.probability is None else f" (p = {f.probability:.3f})"
            reason = f": {escape(f.reason)}" if f.reason else ""
            out.append(f"- {escape(kind)}: {state}{escape(prob)}{reason} \\[{escape(f.detector)}\\]")
        out.append("")
        for kind in r.findings:
            ev = r.verdicts[kind].to_dict()["evidence"]  # the evidence as the JSON shows it
            if ev:
                out += [f"{escape(kind)} evidence:", "", "| key | value |", "|---|---|"]
                out += [f"| {escape(k)} | {escape(evidence_value_text(v, 300))} |" for k, v in ev.items()]
                out.append("")
        if r.path in links:
            out += [f"![summary figure]({links[r.path]})", ""]
        else:
            out += [f"> {escape(notes.get(r.path, 'figure not requested'))}", ""]
    out += ["## Method notes", ""] + [f"- {escape(n)}" for n in METHOD_NOTES] + [""]
    out += ["## Known limits", ""] + [f"- {escape(n)}" for n in KNOWN_LIMITS] + [""]
    out += ["## Run", "", "| key | value |", "|---|---|"]
    for key in ("tool", "version", "schema_version", "command", "input", "created", "python", "config_key"):
        if meta.get(key) is not None:
            out.append(f"| {escape(key)} | {escape(meta[key])} |")
    if isinstance(meta.get("config"), dict):
        out += ["", "Configuration:", "", "| parameter | value |", "|---|---|"]
        out += [f"| {escape(k)} | {escape(json.dumps(v, ensure_ascii=False))} |" for k, v in meta["config"].items()]
    return "\n".join(out) + "\n"
