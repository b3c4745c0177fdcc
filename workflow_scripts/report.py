"""Stage ``report``: one HTML page that shows a run's results (``results/report/index.html``).

It opens with a summary per data set (every model's mean ROC/PR AUCs, overall and by
category, beside the published rows, the best of each column marked, each model linked to its
section) under a navigation bar. Then one section per data set (win shares and per-target
scatters when it has several models, AUC by category, training curves) and per model (its
summary line, ROC/PR curves, readable logos of the filters that match JASPAR at E < 0.01 with
their matches, the rest behind a link); for the demo, which planted motifs the filters recovered
(``planted_motifs.tsv``, and which the MoDISco patterns recovered), the MoDISco patterns; and last the inputs (data-set sizes, peak-file counts). Images are linked relative to the page, so the whole ``results``
directory can be copied and opened elsewhere.
"""
from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

import h5py
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.dataset_layout import code_version
from workflow_scripts.io_utils import atomic_output

log = cli.log.getChild("report")

STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:4px 0}
h2{border-bottom:2px solid #446;padding-bottom:4px;margin-top:2em}code{background:#f4f4f4;padding:1px 4px}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:6px 0;font-size:14px}
.grid{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:300px;font-size:12px}"""


def table_html(df: pd.DataFrame, floatfmt: str = "{:.4f}") -> str:
    return df.to_html(index=False, border=0, na_rep="–", escape=True,
                      float_format=lambda v: floatfmt.format(v))


def img(page_dir: Path, path: Path, width: int | None = None) -> str:
    rel = os.path.relpath(path, page_dir)
    style = f' style="width:{width}px"' if width else ""
    return f'<a href="{html.escape(rel)}"><img src="{html.escape(rel)}"{style}></a>'


def planted_recovery(truth: Path, tomtom_tables: dict[str, Path], evalue: float) -> pd.DataFrame:
    """For each planted JASPAR matrix: which models' filters match it at E < evalue."""
    t = pd.read_csv(truth, sep="\t", dtype=str).fillna("")
    planted = t[t["motif_id"] != ""]
    rows = []
    for _, r in planted.iterrows():
        row = {"feature": r["feature"], "motif_id": r["motif_id"], "motif_name": r["motif_name"]}
        for model, path in tomtom_tables.items():
            tt = pd.read_csv(path, sep="\t")
            hits = tt[(tt["Target_ID"] == r["motif_id"]) & (tt["E-value"] < evalue)]
            row[model] = ", ".join(hits.sort_values("E-value")["Query_ID"].head(3)) if len(hits) else ""
        row["recovered"] = any(row[m] for m in tomtom_tables)
        rows.append(row)
    return pd.DataFrame(rows)


def recovery_by_filters_and_patterns(truth: Path, filters: dict[str, Path], patterns: dict[str, Path],
                                     evalue: float) -> pd.DataFrame:
    """:func:`planted_recovery` of the filters' Tomtom tables, beside a ``{model} MoDISco`` column
    per MoDISco Tomtom table and ``recovered_by_modisco``."""
    recovery = planted_recovery(truth, filters, evalue)
    by_patterns = planted_recovery(truth, {f"{m} MoDISco": p for m, p in patterns.items()}, evalue)
    return recovery.assign(**{f"{m} MoDISco": by_patterns[f"{m} MoDISco"] for m in patterns},
                           recovered_by_modisco=by_patterns["recovered"])


def peak_counts(paths: list[Path]) -> pd.DataFrame:
    rows = []
    for p in paths:
        counts = pd.read_csv(p, sep="\t").set_index("reason")["count"].to_dict()
        rows.append({"sample": p.name.removesuffix(".counts.tsv"), **counts})
    return pd.DataFrame(rows)


def dataset_rows(paths: dict[str, Path]) -> pd.DataFrame:
    rows = []
    for name, p in paths.items():
        with h5py.File(p, "r") as f:
            rows.append({"data set": name, "builder": str(f.attrs["dataset"]), "targets": len(f.attrs["targets"]),
                         "input length": int(f.attrs["seq_length"]),
                         **{s: int(f[s]["start"].shape[0]) for s in ("train", "valid", "test")},
                         "build counts": str(f.attrs.get("build_counts", ""))})
    return pd.DataFrame(rows)


def target_rows(paths: dict[str, Path]) -> pd.DataFrame:
    """Per data set and category: targets, those never positive in training, median frequency."""
    rows = []
    for name, p in paths.items():
        t = pd.read_csv(p, sep="\t")
        for cat, g in t.groupby("category", sort=False):
            rows.append({"data set": name, "category": cat, "targets": len(g),
                         "never positive in training": int((g["train_positives"] == 0).sum()),
                         "median training frequency": g["train_frequency"].median(),
                         "min training frequency": g["train_frequency"].min()})
    return pd.DataFrame(rows)


CATEGORY_COLUMNS = [f"{c}_{m}" for c in ("DNase", "ATAC", "TF", "Histone") for m in ("roc_auc", "pr_auc")]
VALIDATION_COLUMNS = ["valid_mean_roc_auc", "valid_sd_roc_auc", "best_epoch"]   # DSSDA's Table 2 and section 5.5
VALIDATION_COLUMNS += [f"valid_{c}" for c in CATEGORY_COLUMNS]                    # Gupta's Tables 8.4.1 and C.2


def anchor(*parts: str) -> str:
    return "-".join(parts).replace("/", "-")


def summary_rows(summary: pd.DataFrame, dataset: str, trained: list[str]) -> str:
    """A data set's mean AUCs, one row per model (trained ones linked), the best value of each
    column marked; all-empty category columns left out."""
    columns = ["model", "n_targets", "mean_roc_auc", "mean_pr_auc", "weighted_roc_auc", "weighted_pr_auc"]
    columns += [c for c in CATEGORY_COLUMNS + VALIDATION_COLUMNS if c in summary and summary[c].notna().any()]
    table = summary[columns].copy()
    best = {c: table[c].max() if c.endswith("auc") and "_sd_" not in c else None for c in columns[2:]}
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    rows = []
    for _, r in table.iterrows():
        name = str(r["model"])
        cells = [f'<a href="#{anchor(dataset, name)}">{html.escape(name)}</a>' if name in trained
                 else f"{html.escape(name)} <small>(published)</small>", f"{r['n_targets']:.0f}"]
        for c in columns[2:]:
            v = r[c]
            text = "–" if pd.isna(v) else f"{v:.0f}" if c == "best_epoch" else f"{v:.4f}"
            cells.append(f"<b>{text} ★</b>" if len(table) > 1 and not pd.isna(v) and v == best[c] else text)
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def logo_grid(page_dir: Path, logos: Path, matched: pd.DataFrame) -> str:
    """Readable logos of the filters that match a known motif, each captioned with its match."""
    cells = []
    for _, r in matched.iterrows():
        logo = logos / f"{r['filter']}.png"
        if logo.exists():
            cells.append(f"<figure>{img(page_dir, logo, 300)}<figcaption>{html.escape(r['filter'])} ~ "
                         f"{html.escape(str(r['best_name']))} ({html.escape(str(r['best_target']))}, "
                         f"E = {r['evalue']:.1e})</figcaption></figure>")
    return f"<div class='grid'>{''.join(cells)}</div>" if cells else ""


def model_section(page_dir: Path, dataset: str, model: str, files: dict[str, Path], evalue: float) -> str:
    parts = [f"<h3 id='{anchor(dataset, model)}'>{html.escape(model)} on {html.escape(dataset)}</h3>",
             f"<p>{html.escape(files['eval_summary'].read_text())}</p>", img(page_dir, files["curves"], 700)]
    if "tomtom_summary" not in files:
        return "".join(parts) + "<p>No convolution filters: no motifs for this model.</p>"
    s = pd.read_csv(files["tomtom_summary"], sep="\t")
    significant = s["significant"].fillna(False).astype(bool)
    matched = s[significant].sort_values("evalue")
    parts.append(f"<p>Motifs: {int((s['status'] == 'kept').sum())} of {len(s)} first-layer filters kept; "
                 f"{len(matched)} match JASPAR 2024 at E &lt; {evalue} (Tomtom). "
                 f"<a href='{html.escape(os.path.relpath(files['logos'].parent / 'logos.png', page_dir))}'>"
                 f"All logos</a> · <a href='{html.escape(os.path.relpath(files['tomtom_summary'], page_dir))}'>"
                 f"every filter's best match (TSV)</a></p>")
    parts.append(logo_grid(page_dir, files["logos"], matched.head(24)))
    return "".join(parts)


def failure_section(page_dir: Path, files: dict[str, Path]) -> str:
    """SuperQ's failure analysis (workflow_scripts/failure_analysis.py), where an autoencoder was trained."""
    if not files:
        return ""
    return ("<h3>SuperQ's failure analysis</h3><p>The autoencoder's per-base reconstruction accuracy against "
            "chance and the most frequent base (its accuracy beside the AUCs: the accuracy table above).</p>"
            + table_html(pd.read_csv(files["reconstruction"], sep="\t")) + img(page_dir, files["failure_plot"], 600))


def label_study_section(page_dir: Path, files: dict[str, Path]) -> str:
    """DSSDA's label study (workflow_scripts/label_study.py), where a model was trained on a share of the labels."""
    if not files:
        return ""
    return ("<h3>Label study (DSSDA's Table 2)</h3><p>Mean ROC AUC by share of labelled training rows: the ladder "
            "network (dssda) also learns from the unlabelled rows, its supervised counterpart (alexnet) never reads "
            "them; references trained on all labels.</p>"
            + table_html(pd.read_csv(files["label_study"], sep="\t")) + img(page_dir, files["label_study_plot"], 800))


ACCURACY_METRICS = ("loss", "accuracy", "f1", "mean_roc_auc", "mean_pr_auc")
NOT_LIKE_FOR_LIKE = ("Not like-for-like with DanQ's published rows: our deepsea1000 is rebuilt from peaks, not "
                     "DeepSEA's released bins (no all-negative rows), and stores no reverse complements, so an "
                     "epoch is half of DanQ's; its LR is our kmer_lr.")


def accuracy_layout(table: pd.DataFrame) -> pd.DataFrame:
    """DanQ's Table S1 layout: one row per predictor, a column per (split, metric), empty ones left out."""
    rows = []
    for predictor, g in table.groupby("predictor", sort=False):
        by_split = g.set_index("split")
        rows.append({"predictor": predictor, **{f"{split} {m.replace('_', ' ')}": by_split[m].get(split)
                                                for split in ("train", "valid", "test") for m in ACCURACY_METRICS}})
    return pd.DataFrame(rows).dropna(axis=1, how="all")


def accuracy_section(table_path: Path) -> str:
    """DanQ's Table S1 (workflow_scripts/accuracy_table.py), with the published rows where configured."""
    table = pd.read_csv(table_path, sep="\t")
    ours = table[~table["predictor"].str.endswith("_published")]
    train = ours[ours["split"] == "train"]["rows"]
    caveat = f" {NOT_LIKE_FOR_LIKE}" if len(ours) < len(table) else ""
    return ("<h3>Loss and accuracy per split (DanQ's Table S1)</h3><p>Mean binary cross-entropy, and accuracy "
            "and F1 at 0.5 pooled over every (row, target) cell, for every model and the all-zeros predictor "
            "(whose loss is undefined: log 0), beside the plain mean AUCs over scored targets (none on the "
            f"training split, scored on a random sample of {int(train.iloc[0]) if len(train) else 0:,} rows). "
            f"Per-nucleotide data sets: a row is a base.{caveat}</p>" + table_html(accuracy_layout(table)))


def receptive_field_section(page_dir: Path, files: dict[str, Path]) -> str:
    """Gupta's Figs. 8.5.1 / D.0.1 and the effective against the analytic fields (per-nucleotide data sets)."""
    if not files:
        return ""
    table = pd.read_csv(files["receptive_fields_tsv"], sep="\t")
    probe = table.iloc[0]
    return (f"<h3>Receptive fields</h3><p>Window {html.escape(probe['window'])}, marker "
            f"{html.escape(probe['marker'])} (drawn at random from the validation split, the same for every "
            f"model). Effective field: the shortest span around an output base holding "
            f"{100 * probe['effective_share']:.0f} % of the gradient norm, averaged over {probe['positions']} output "
            f"bases; analytic: from the model's layers.</p>"
            + table_html(table[["model", "analytic_field", "effective_field", "share_in_analytic"]], "{:.3f}")
            + img(page_dir, files["receptive_fields_png"], 900))


def dataset_section(page_dir: Path, dataset: str, files: dict, evalue: float) -> str:
    comp = {k: Path(v) for k, v in files["comparison"].items()}
    models = list(files["models"])
    parts = [f"<h2 id='{anchor(dataset)}'>Models on {html.escape(dataset)}</h2>"]
    if len(models) > 1:
        parts.append("<p>Share of targets where model A's AUC beats model B's:</p>"
                     + table_html(pd.read_csv(comp["win_shares"], sep="\t")))
    parts.append("".join(img(page_dir, comp[n], 560) for n in
                         ("scatter_roc", "scatter_pr", "compare_by_category", "training_curves")))
    parts.append(accuracy_section(comp["accuracy_table"]) + "<p>ROC and PR curves of every model for the same "
                 "targets (DanQ's Figs. 2-3):</p>" + img(page_dir, comp["curve_overlay"], 800))
    parts.append(failure_section(page_dir, {k: Path(v) for k, v in files.get("failure_analysis", {}).items()}))
    parts.append(label_study_section(page_dir, {k: Path(v) for k, v in files.get("label_study", {}).items()}))
    if files.get("encodings"):
        parts.append("<h3>Input encodings</h3><p>The word2vec 3-mer vectors basset_w2v reads, fitted on the "
                     "training split, mapped to 2-d by t-SNE (DSSDA's Fig. 6).</p>"
                     + img(page_dir, Path(files["encodings"]["kmer_tsne"]), 560))
    parts.append(receptive_field_section(page_dir, {k: Path(v) for k, v in files.get("receptive_fields", {}).items()}))
    for model, mf in files["models"].items():
        parts.append(model_section(page_dir, dataset, model, {k: Path(v) for k, v in mf.items()}, evalue))
    return "".join(parts)


def build_report(manifest: dict, out: Path, evalue: float, profile: str, planted: Path | None = None) -> None:
    """The page, from the files of ``manifest`` (peak counts, and per data set its file, the
    comparison's files and each model's files; see rules/report.smk)."""
    page_dir = out.parent
    datasets = manifest["datasets"]
    with_models = {d: v for d, v in datasets.items() if v["models"]}
    nav = ["<a href='#summary'>Summary</a>"]
    for d, v in with_models.items():
        nav.append(f"<a href='#{anchor(d)}'>{html.escape(d)}</a>: " + " · ".join(
            f"<a href='#{anchor(d, m)}'>{html.escape(m)}</a>" for m in v["models"]))
    truth = manifest.get("truth")
    show_planted = bool(truth and planted is not None and with_models)
    nav += (["<a href='#planted'>Planted motifs</a>"] if show_planted else []) + ["<a href='#inputs'>Inputs</a>"]
    parts = [f"<nav>{' | '.join(nav)}</nav><h1>seq2reg report</h1><p>profile <code>{html.escape(profile)}</code>"
             f" · code {html.escape(code_version())} · {time.strftime('%Y-%m-%d %H:%M')}</p>"]

    parts.append("<h2 id='summary'>Summary</h2><p>Test-set AUCs per data set: <i>mean</i> is the plain mean "
                 "over targets with at least 10 positives, <i>weighted</i> weights each target by its "
                 "frequency in the training split (the capstone's Tables 2-3); categories are plain means. ★ marks the best value of a column. Published rows "
                 "are the papers' own per-target AUCs averaged over the same targets: their test sets were "
                 "built from the papers' released files, ours from peaks, so they are not like-for-like. "
                 "<i>valid mean/sd roc auc</i>: plain mean and standard deviation over targets on the validation "
                 "split, where DSSDA's Table 2 reports (its published rows: no per-target values, mean as printed); "
                 "<i>best epoch</i>: the epoch whose weights were kept. <i>valid TF roc auc</i> etc.: plain means by "
                 "category on the validation split, as Gupta's Tables 8.4.1 and C.2 (his published rows: "
                 "his tables' category means, best across his hyperparameter search). Per-nucleotide data "
                 "sets are scored at every base (binned AUCs within a stated bound; each model's line says "
                 "how far the strided AUCs are).</p>")
    for d, v in with_models.items():
        summary = pd.read_csv(v["comparison"]["comparison_summary"], sep="\t")
        parts.append(f"<h3>{html.escape(d)}</h3>" + summary_rows(summary, d, list(v["models"])))
    for d, v in with_models.items():
        parts.append(dataset_section(page_dir, d, v, evalue))

    if show_planted:
        tomtoms = {f"{d}/{m}": Path(mf["tomtom"]) for d, v in with_models.items() for m, mf in v["models"].items()
                   if "tomtom" in mf}
        patterns = {key: Path(files["modisco_tomtom"]) for key, files in manifest["modisco"].items()}
        recovery = recovery_by_filters_and_patterns(Path(truth), tomtoms, patterns, evalue)
        with atomic_output(planted) as tmp:
            recovery.to_csv(tmp, sep="\t", index=False)
        per_model = ", ".join(f"{c}: {int((recovery[c] != '').sum())}" for c in (f"{key} MoDISco" for key in patterns))
        parts.append(f"<h2 id='planted'>Planted motifs recovered (demo)</h2><p>{int(recovery['recovered'].sum())} "
                     f"of {len(recovery)} planted JASPAR matrices are matched at E &lt; {evalue} by a filter "
                     f"(filters named per model); by a MoDISco pattern: {int(recovery['recovered_by_modisco'].sum())}"
                     f"{f' ({per_model})' if patterns else ''}.</p>" + table_html(recovery))
    if manifest["modisco"]:
        parts.append("<h2 id='modisco'>MoDISco patterns</h2><p>De-novo patterns from attributions of the top "
                     "test sequences (README, 'Attribution and de-novo motifs'); their Tomtom matches: "
                     + " · ".join(f"<a href='{html.escape(os.path.relpath(f['modisco_tomtom'], page_dir))}'>"
                                  f"{html.escape(key)}</a>" for key, f in manifest["modisco"].items()) + "</p>"
                     + "".join(img(page_dir, Path(f["modisco_logos"]), 600) for f in manifest["modisco"].values()))

    parts.append("<h2 id='inputs'>Inputs</h2><h3>Data sets</h3>" + table_html(
        dataset_rows({d: Path(v["file"]) for d, v in datasets.items()}), "{:.0f}"))
    parts.append("<h3>Targets</h3><p>Positives per target and split, and how rare targets are (the "
                 "capstone's data exploration); per-nucleotide data sets count active bases. "
                 "Per-target TSVs: " + " · ".join(
                     f"<a href='{html.escape(os.path.relpath(v['targets']['target_counts'], page_dir))}'>"
                     f"{html.escape(d)}</a>" for d, v in datasets.items()) + "</p>"
                 + table_html(target_rows({d: Path(v["targets"]["target_counts"]) for d, v in datasets.items()}),
                              "{:.3g}")
                 + "".join(img(page_dir, Path(v["targets"]["target_plot"]), 900) for v in datasets.values()))
    counts = [Path(p) for p in manifest["peak_counts"].values()]
    if counts:
        parts.append("<h3>Peak files</h3><p>Lines read, kept, and dropped or skipped by reason (README, "
                     "'Bad input').</p>" + table_html(peak_counts(counts), "{:.0f}"))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>seq2reg report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    with atomic_output(out, suffix=".html") as tmp:
        tmp.write_text(page)
    log.info("report: %s", out)


def main(args) -> None:
    build_report(json.loads(args.manifest), Path(args.output), args.evalue, args.profile,
                 Path(args.planted) if args.planted else None)


def build_parser():
    p = cli.parser("Write the HTML report of a run.")
    p.add_argument("--manifest", required=True, help="JSON: the files to show (see rules/report.smk)")
    p.add_argument("--output", required=True)
    p.add_argument("--planted", help="output: planted_motifs.tsv (demo)")
    p.add_argument("--evalue", type=float, default=0.01)
    p.add_argument("--profile", default="")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
