"""Figures of an evaluation: ROC curves and reliability (calibration) diagrams, one colour per finding kind.

matplotlib is imported inside :func:`evaluation_figure` only (Agg backend), so importing this module, the
evaluation library or the CLI never loads it. The palette is Okabe & Ito (2008), safe for the common forms of
colour blindness; each kind also has its own line style and marker, so the figure survives greyscale.
"""

from __future__ import annotations

import io

#: Okabe-Ito colours, line styles and markers per kind.
KIND_STYLE = {
    "lossy": ("#0072B2", "-", "o"),
    "upsampled": ("#E69F00", "--", "s"),
    "bitpadded": ("#009E73", "-.", "^"),
    "ai": ("#CC79A7", ":", "D"),
}
_FALLBACK = ("#000000", "-", "x")


def evaluation_figure(doc: dict):
    """A matplotlib Figure with the ROC curves (left) and reliability diagrams (right) of ``doc``.

    ``doc`` is the document returned by :func:`musicforensics.evaluation.evaluate`. Kinds without both
    classes among decided files have no ROC curve; kinds without decided files have no reliability points.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5), dpi=110, layout="constrained")
    ax_roc, ax_rel = fig.subplots(1, 2)
    for ax in (ax_roc, ax_rel):
        ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls=(0, (2, 2)), label="chance" if ax is ax_roc else "perfect calibration")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.grid(True, color="#dddddd", lw=0.6)
    for kind, sec in doc["kinds"].items():
        colour, style, marker = KIND_STYLE.get(kind, _FALLBACK)
        roc = sec["roc"]
        if roc["curve"]:
            ax_roc.step(roc["curve"]["fpr"], roc["curve"]["tpr"], where="post", color=colour, ls=style, lw=1.8,
                        label=f"{kind}: AUC {roc['auc']:.3f} (n+={roc['n_pos']}, n-={roc['n_neg']})")
        rel = roc["reliability"]
        if rel:
            pts = [(p, o, c) for p, o, c in zip(rel["mean_predicted"], rel["observed"], rel["counts"]) if c]
            if pts:
                xs, ys, cs = zip(*pts)
                ax_rel.plot(xs, ys, color=colour, ls=style, marker=marker, lw=1.5, ms=5,
                            label=f"{kind}: ECE {roc['ece']:.3f}, Brier {roc['brier']:.3f} (n={sum(cs)})")
    ax_roc.set_xlabel("false-positive rate (fraction of negatives flagged)")
    ax_roc.set_ylabel("true-positive rate (fraction of positives detected)")
    ax_roc.set_title("ROC, decided files")
    ax_rel.set_xlabel("predicted probability (bin mean)")
    ax_rel.set_ylabel("observed fraction of positives")
    ax_rel.set_title("Reliability (10 equal-width bins)")
    for ax in (ax_roc, ax_rel):
        ax.legend(loc="lower right" if ax is ax_roc else "upper left", fontsize=7, frameon=True)
    meta = doc.get("meta") or {}
    fig.suptitle(f"musicforensics {meta.get('version', '')} on {meta.get('manifest', '')} "
                 f"(split {meta.get('split', '')})", fontsize=9)
    return fig


def evaluation_png(doc: dict) -> bytes:
    """The figure of :func:`evaluation_figure` as PNG bytes."""
    fig = evaluation_figure(doc)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
