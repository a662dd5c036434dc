"""A self-contained HTML report: one file, no external assets, readable offline.

Figures are embedded as PNG data URIs; the only script is a few lines that sort the track table. Every
piece of text that comes from a file (names, tags, reasons, evidence) goes through :func:`html.escape`,
and a Content-Security-Policy allows only that one script (by its SHA-256 hash) and data: images, so even
markup that slipped through could neither run nor load anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Mapping, Sequence

from ...results import TrackReport
from .texts import (
    KNOWN_LIMITS, METHOD_NOTES, evidence_value_text, FigureRecord, describe_format, flagged, status_counts, track_note, verdict_cell,
    verdict_counts,
)

#: Sorts the track table when a column header is clicked (numbers by data-sort, text by content).
#: Reads only textContent and data attributes; never writes markup.
SORT_SCRIPT = """
(function () {
  var table = document.getElementById('tracks-table');
  if (!table) { return; }
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector('button');
    button.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var numeric = th.getAttribute('data-type') === 'number';
      function key(row) {
        var cell = row.cells[col];
        var v = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
        if (numeric) { v = parseFloat(v); return isNaN(v) ? -Infinity : v; }
        return v.toLowerCase();
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = x < y ? -1 : (x > y ? 1 : 0);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  document.documentElement.setAttribute('data-sortable', 'ready');
})();
"""

STYLE = """
:root { --fg: #1a1a1a; --muted: #555; --line: #d0d0d0; --hit: #D55E00; --ok: #0072B2; --warn: #E69F00; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
.muted { color: var(--muted); }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible { outline: 2px solid var(--ok); }
th[aria-sort=ascending] button::after { content: " \\25B2"; } th[aria-sort=descending] button::after { content: " \\25BC"; }
.path { word-break: break-all; min-width: 14em; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
.hit { color: var(--hit); font-weight: 600; } .inc { color: var(--warn); } .err { color: var(--hit); }
.track { border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
.track img { max-width: 100%; height: auto; border: 1px solid var(--line); }
.note { background: #f6f6f6; padding: .4rem .6rem; border-left: 4px solid var(--warn); }
pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; }
"""


def _e(value) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
            "base-uri 'none'; form-action 'none'")



def _counts_section(reports: Sequence[TrackReport]) -> str:
    st = status_counts(reports)
    kinds, counts = verdict_counts(reports)
    out = ["<section id='counts'><h2>Counts</h2>",
           f"<p>{len(reports)} files: {st['ok']} ok, {st['inconclusive']} inconclusive, {st['error']} error(s); "
           f"{len(flagged(reports))} flagged.</p>"]
    if kinds:
        cols = ("detected", "not detected", "inconclusive", "not run")
        out.append("<table id='verdict-counts'><thead><tr><th>verdict</th>"
                   + "".join(f"<th>{c}</th>" for c in cols) + "</tr></thead><tbody>")
        for k in kinds:
            cells = "".join(f"<td class='num'>{counts[k][c]}</td>" for c in cols)
            out.append(f"<tr><th scope='row'>{_e(k)}</th>{cells}</tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _tracks_section(reports: Sequence[TrackReport]) -> str:
    kinds, _ = verdict_counts(reports)
    heads = [("path", "text"), ("status", "text"), ("format", "text")] + [(k, "number") for k in kinds] + [
        ("seconds", "number"), ("notes", "text")]
    out = ["<section id='tracks'><h2>Tracks</h2><p class='muted'>Click a column header to sort.</p>",
           "<table id='tracks-table'><thead><tr>"]
    out += [f"<th data-type='{t}'><button type='button'>{_e(h)}</button></th>" for h, t in heads]
    out.append("</tr></thead><tbody>")
    for i, r in enumerate(reports):
        anchor = f"track-{i}"
        path_cell = (f"<a href='#{anchor}'>{_e(r.path)}</a>" if r.findings else _e(r.path))
        cells = [f"<td class='path'>{path_cell}</td>",
                 f"<td class='{'err' if r.status == 'error' else ('inc' if r.status == 'inconclusive' else '')}'>{_e(r.status)}</td>",
                 f"<td>{_e(describe_format(r.audio))}</td>"]
        for k in kinds:
            text, key = verdict_cell(r, k)
            cls = "hit" if text.startswith("DETECTED") else ("inc" if text == "inconclusive" else "")
            cells.append(f"<td class='num {cls}' data-sort='{key:.6f}'>{_e(text)}</td>")
        cells.append(f"<td class='num' data-sort='{r.seconds:.6f}'>{r.seconds:.2f}</td>")
        cells.append(f"<td>{_e(track_note(r))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _flagged_section(reports: Sequence[TrackReport], figures: Mapping[str, FigureRecord]) -> str:
    hits = [(i, r) for i, r in enumerate(reports) if r.findings]
    out = ["<section id='flagged'><h2>Flagged tracks</h2>"]
    if not hits:
        out.append("<p>No track was flagged.</p>")
    for i, r in hits:
        out.append(f"<article class='track' id='track-{i}'><h3 class='path'>{_e(r.path)}</h3>")
        out.append(f"<p class='muted'>{_e(describe_format(r.audio))}</p><ul>")
        for kind in sorted(r.verdicts):
            f = r.verdicts[kind]
            state = "INCONCLUSIVE" if f.inconclusive else ("DETECTED" if f.detected else "not detected")
            prob = "" if f.probability is None else f" (p = {f.probability:.3f})"
            cls = "hit" if state == "DETECTED" else ("inc" if f.inconclusive else "")
            reason = f": {_e(f.reason)}" if f.reason else ""
            out.append(f"<li><span class='{cls}'>{_e(kind)}: {state}{_e(prob)}</span>{reason}"
                       f" <span class='muted'>[{_e(f.detector)}]</span></li>")
        out.append("</ul>")
        for kind in r.findings:
            ev = r.verdicts[kind].to_dict()["evidence"]  # the evidence as the JSON shows it
            if ev:
                out.append(f"<table class='evidence'><caption>{_e(kind)} evidence</caption><tbody>")
                out += [f"<tr><th scope='row'>{_e(k)}</th><td>{_e(evidence_value_text(v, 400))}</td></tr>" for k, v in ev.items()]
                out.append("</tbody></table>")
        rec = figures.get(r.path)
        if rec is not None and rec.png:
            data = base64.b64encode(rec.png).decode("ascii")
            out.append(f"<figure><img alt='summary figure of {_e(r.path)}' src='data:image/png;base64,{data}'>"
                       "<figcaption class='muted'>Spectrogram with the wall and lossy-looking segments; long-term "
                       "spectrum with the expected codec edge; comb view of the 5-16 kHz residual.</figcaption></figure>")
        else:
            note = rec.note if rec is not None and rec.note else "figure not requested"
            out.append(f"<p class='note'>{_e(note)}</p>")
        out.append("</article>")
    out.append("</section>")
    return "\n".join(out)


def _method_section() -> str:
    notes = "".join(f"<li>{_e(n)}</li>" for n in METHOD_NOTES)
    limits = "".join(f"<li>{_e(n)}</li>" for n in KNOWN_LIMITS)
    return (f"<section id='method'><h2>Method notes</h2><ul>{notes}</ul>"
            f"<h2>Known limits</h2><ul>{limits}</ul></section>")


def _run_section(meta: Mapping) -> str:
    rows = []
    for key in ("tool", "version", "schema_version", "command", "input", "created", "python", "config_key"):
        if meta.get(key) is not None:
            rows.append(f"<tr><th scope='row'>{_e(key)}</th><td>{_e(meta[key])}</td></tr>")
    config = meta.get("config")
    cfg = f"<h3>Configuration</h3><pre>{_e(json.dumps(config, indent=2, ensure_ascii=False))}</pre>" if config else ""
    return f"<section id='run'><h2>Run</h2><table><tbody>{''.join(rows)}</tbody></table>{cfg}</section>"


def render(reports: Sequence[TrackReport], *, summary: dict | None = None, meta: dict | None = None,
           figures: Mapping[str, FigureRecord] | None = None) -> str:
    """The whole report as one HTML document.

    Parameters
    ----------
    reports : sequence of TrackReport
    summary : dict, optional
        Tally counts (unused beyond what the reports say; accepted for the renderer interface).
    meta : dict, optional
        Run metadata (:func:`musicforensics.report.run_metadata`, plus ``input``).
    figures : mapping of path to FigureRecord, optional
        Summary figures of flagged tracks (:func:`musicforensics.report._figures.collect_figures`).
    """
    meta = dict(meta or {})
    figures = figures or {}
    created = meta.get("created", "")
    head = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_e(_csp())}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>musicforensics report</title><style>{STYLE}</style></head><body>"
    )
    intro = (f"<header><h1>musicforensics report</h1><p class='muted'>{len(reports)} files"
             f"{' &middot; ' + _e(created) if created else ''}"
             f"{' &middot; musicforensics ' + _e(meta['version']) if meta.get('version') else ''}</p></header>")
    body = "\n".join([
        intro, _counts_section(reports), _tracks_section(reports), _flagged_section(reports, figures),
        _method_section(), _run_section(meta),
    ])
    return f"{head}\n{body}\n<script>{SORT_SCRIPT}</script>\n</body></html>\n"
