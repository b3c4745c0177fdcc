"""Stage ``variant_effects``: a trained model's predicted effect of each variant of a VCF or TSV.

**Windows.** Each allele is written into a window of the model's input length L taken from the
pipeline's genome, centred on the variant: the allele's first base sits at index
``c - (len(allele) - 1) // 2`` with ``c = (L - 1) // 2`` (index L/2 - 1 for even L, as DeepSEA and
Selene put a SNV), genome bases to its left and right fill the window. A SNV is at ``c`` in both
windows; an indel's alleles are each centred on their own length, so the window keeps its length
and the bases around the event stay near the middle. A window that runs past a chromosome's end
is padded with N (flag ``near_end``); a window containing N is scored as it is (flag
``n_in_window``; N is 0.25 in every one-hot channel).

**REF check.** REF is compared with the genome (case-insensitive). Every mismatch is counted in
the summary; the policy ``ref_mismatch`` says what happens to the variant: ``refuse`` (stop,
naming the file and line), ``skip`` (not scored) or ``substitute`` (scored with REF as written in
the input in place of the genome's bases, flag ``ref_mismatch``).

**Scores** per variant and target, from probabilities (forward and reverse complement averaged
when ``rc_average``; per-nucleotide models: the prediction at index ``c``): ``p_ref``, ``p_alt``,
``diff`` = p_alt - p_ref, ``logit_diff`` = logit(p_alt) - logit(p_ref) (p clipped to
[1e-7, 1 - 1e-7]) and ``deepsea`` = |logit_diff| x |diff| (DeepSEA's functional significance
input, Zhou & Troyanskaya 2015).

**Files.** HDF5 first, written chunk by chunk (memory does not grow with the input): one float32
matrix per score, variants x targets, and the tables ``variants/{chrom,pos,id,ref,alt,flags,line}``
and ``targets``. TSV (``wide``: one row per variant, a column ``score:target`` per score and
target; ``long``: one row per variant and target) and VCF (one INFO field per score and target,
``{score}_{target}`` with the target's name made VCF-safe, its full name in the header) are
written from the HDF5, streamed too. A large input is scattered over jobs by record ranges
(``--part i --parts n``) and gathered in order (``gather``): the same rows as one job's output,
the same scores up to float rounding (batches differ).
"""
from __future__ import annotations

import argparse
import json
import logging
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.fasta import GenomeWindows
from workflow_scripts.inference import default_device, load_trained
from workflow_scripts.inference.predict import in_batches, predict_batches
from workflow_scripts.dataset_layout import SplitWriter
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.loaders import read_ahead
from workflow_scripts.sequence import N_CODE, encode
from workflow_scripts.variant_files import SKIP_REASONS, Variant, VariantReader

log = logging.getLogger("seq2reg.variant_effects")

SCORES = ("p_ref", "p_alt", "diff", "logit_diff", "deepsea")
POLICIES = ("refuse", "skip", "substitute")
TABLE = ("chrom", "pos", "id", "ref", "alt", "flags", "line")
TABLE_DTYPES = {"pos": np.int64, "line": np.int64}             # the others are strings
EPS = 2.0 ** -23                  # probabilities clipped to [EPS, 1 - EPS], both exact in float32


def centre(length: int) -> int:
    return (length - 1) // 2


def snv_windows(genome: GenomeWindows, chrom: str, pos0: int, ref: str, alt: str, length: int):
    """The ref and alt windows of a SNV from one read of the genome (what :func:`allele_window`
    gives for each allele), and whether they run past the chromosome's ends."""
    start = pos0 - centre(length)
    around = genome.codes(chrom, start, length)
    windows = np.stack([around, around])
    windows[:, centre(length)] = encode(ref + alt)
    return windows[0], windows[1], start < 0 or start + length > genome.sizes[chrom]


def allele_window(genome: GenomeWindows, chrom: str, pos0: int, ref_length: int, allele: str,
                  length: int) -> tuple[np.ndarray, bool]:
    """Codes of the window with ``allele`` in place of the ``ref_length`` genome bases at
    ``pos0`` (0-based), and whether the window runs past the chromosome's ends."""
    at = centre(length) - (len(allele) - 1) // 2
    right = length - at - len(allele)
    codes = np.concatenate([genome.codes(chrom, pos0 - at, at),
                            encode(allele),
                            genome.codes(chrom, pos0 + ref_length, right)])
    return codes, pos0 - at < 0 or pos0 + ref_length + right > genome.sizes[chrom]


def scores_from(p_ref: np.ndarray, p_alt: np.ndarray) -> dict[str, np.ndarray]:
    logit = lambda p: np.log(p / (1 - p))                # noqa: E731
    # float32, as stored (float64 took a fifth of the stage's time)
    a, r = (np.clip(p, EPS, 1 - EPS, dtype=np.float32) for p in (p_alt, p_ref))
    diff, logit_diff = a - r, logit(a) - logit(r)
    return {"p_ref": p_ref, "p_alt": p_alt, "diff": diff, "logit_diff": logit_diff,
            "deepsea": np.abs(logit_diff) * np.abs(diff)}


def anchored(v: Variant, chrom: str, genome: GenomeWindows) -> Variant:
    """An indel with an empty allele (a TSV's ``-``) in VCF form: the genome base before it added
    to both alleles (after it, at a chromosome's first base), so both forms score the same."""
    if v.ref and v.alt:
        return v
    if v.pos > 1:
        base = genome.letters(chrom, v.pos - 2, v.pos - 1)
        return replace(v, pos=v.pos - 1, ref=base + v.ref, alt=base + v.alt)
    base = genome.letters(chrom, len(v.ref), len(v.ref) + 1)
    return replace(v, ref=v.ref + base, alt=v.alt + base)


# ---------------------------------------------------------------- the HDF5 file
class EffectsWriter:
    """Appends variants and their score matrices to an HDF5 file."""

    def __init__(self, path: Path, targets: list[str], attrs: dict):
        self.h5 = h5py.File(path, "w")
        self.h5.create_dataset("targets", data=np.array(targets, dtype=object), dtype=h5py.string_dtype())
        columns = {s: ((len(targets),), np.float32) for s in SCORES}
        columns.update({f"variants/{c}": ((), TABLE_DTYPES.get(c, h5py.string_dtype())) for c in TABLE})
        self.writer = SplitWriter(self.h5, columns)
        self.h5.attrs.update({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in attrs.items()})
        self.rows = 0

    def append(self, table: dict[str, list], scores: dict[str, np.ndarray]) -> None:
        self.writer.append(**{f"variants/{c}": np.asarray(table[c], dtype=TABLE_DTYPES.get(c, object)) for c in TABLE},
                           **{s: np.asarray(scores[s], dtype=np.float32) for s in SCORES})
        self.rows += len(table["chrom"])

    def close(self) -> None:
        self.h5.close()


def read_table(h5: h5py.File, start: int, stop: int) -> dict[str, np.ndarray]:
    return {c: (h5[f"variants/{c}"][start:stop] if c in TABLE_DTYPES
                else h5[f"variants/{c}"].asstr()[start:stop]) for c in TABLE}


# ---------------------------------------------------------------- scoring
class VariantScorer:
    """Scores chunks of variants with one model; counts what it skips and flags."""

    def __init__(self, model, meta: dict, genome: GenomeWindows, *, source: Path, ref_mismatch: str,
                 rc_average: bool, batch_size: int, device):
        if ref_mismatch not in POLICIES:
            raise InputError(f"ref_mismatch: {ref_mismatch!r} is not one of {', '.join(POLICIES)}")
        self.model, self.genome, self.source = model, genome, source
        self.length, self.policy = meta["seq_length"], ref_mismatch
        self.rc_average, self.batch_size, self.device = rc_average, batch_size, device
        self.skipped: Counter = Counter()
        self.flags: Counter = Counter()
        self.unknown_chroms: Counter = Counter()
        self.mismatch_examples: list[str] = []

    def windows(self, chunk: list[Variant]):
        """Ref and alt window codes of the variants that are scored, and their table rows."""
        refs, alts, table = [], [], {c: [] for c in TABLE}
        for v in chunk:
            chrom = self.genome.resolve(v.chrom)
            if chrom is None:
                self.skipped["unknown_chrom"] += 1
                self.unknown_chroms[v.chrom] += 1
                continue
            v = anchored(v, chrom, self.genome)
            pos0 = v.pos - 1
            if pos0 + len(v.ref) > self.genome.sizes[chrom]:
                self.skipped["outside_chrom"] += 1
                continue
            flags = []
            genome_ref = self.genome.letters(chrom, pos0, pos0 + len(v.ref))
            if genome_ref != v.ref:
                self.flags["ref_mismatch"] += 1
                if len(self.mismatch_examples) < 20:
                    self.mismatch_examples.append(f"{self.source}:{v.line}: {v.chrom}:{v.pos} REF {v.ref} "
                                                  f"genome {genome_ref}")
                if self.policy == "refuse":
                    raise cli.located(self.source, v.line, f"REF {v.ref} differs from the genome's {genome_ref} "
                                      f"at {chrom}:{v.pos} (1-based). Check that the input is on the genome's "
                                      f"assembly, or set ref_mismatch to skip or substitute")
                if self.policy == "skip":
                    self.skipped["ref_mismatch"] += 1
                    continue
                flags.append("ref_mismatch")
            if len(v.ref) == len(v.alt) == 1:
                ref, alt, near = snv_windows(self.genome, chrom, pos0, v.ref, v.alt, self.length)
            else:
                ref, ref_near = allele_window(self.genome, chrom, pos0, len(v.ref), v.ref, self.length)
                alt, alt_near = allele_window(self.genome, chrom, pos0, len(v.ref), v.alt, self.length)
                near = ref_near or alt_near
            flags += ["near_end"] * near
            flags += ["n_in_window"] * bool((ref == N_CODE).any() or (alt == N_CODE).any())
            flags += ["indel"] * (len(v.ref) != len(v.alt))
            self.flags.update(flags)
            refs.append(ref)
            alts.append(alt)
            for column, value in zip(TABLE, (v.chrom, v.pos, v.id, v.ref, v.alt, ",".join(flags), v.line)):
                table[column].append(value)
        return refs, alts, table

    def score(self, refs: list[np.ndarray], alts: list[np.ndarray]) -> dict[str, np.ndarray]:
        codes = np.stack(refs + alts)
        probs = np.concatenate(list(predict_batches(self.model, in_batches(codes, self.batch_size), self.device,
                                                    rc_average=self.rc_average, position=centre(self.length))))
        n = len(refs)
        return scores_from(probs[:n], probs[n:])


def score_file(variants: Path, weights: Path, meta_path: Path, genome_fasta: Path, out_h5: Path, summary: Path, *,
               ref_mismatch: str = "skip", max_indel: int = 50, rc_average: bool = True, batch_size: int = 128,
               chunk_size: int = 4096, part: int = 0, parts: int = 1, on_malformed: str = "error") -> dict:
    """Scores every variant of ``variants`` (records of part ``part`` of ``parts``) into ``out_h5``;
    returns and writes the summary (JSON)."""
    device = default_device()
    model, meta = load_trained(weights, meta_path, device)
    if max_indel + 1 >= meta["seq_length"]:
        raise InputError(f"max_indel {max_indel}: an allele must be shorter than the model's "
                         f"{meta['seq_length']} bp window; use at most {meta['seq_length'] - 2}")
    genome = GenomeWindows(genome_fasta)
    reader = VariantReader(variants, max_indel=max_indel, chunk_size=chunk_size, on_malformed=on_malformed)
    total = reader.count_records()
    reader.first, reader.stop = total * part // parts, total * (part + 1) // parts
    scorer = VariantScorer(model, meta, genome, source=variants, ref_mismatch=ref_mismatch,
                           rc_average=rc_average, batch_size=batch_size, device=device)
    attrs = {"model": str(weights), "variants": str(variants), "genome": str(genome_fasta),
             "window": meta["seq_length"], "centre_index": centre(meta["seq_length"]),
             "ref_mismatch": ref_mismatch, "rc_average": rc_average}
    log.info("%s: records %d-%d of %d; model %s (%d bp window), REF mismatches: %s", variants, reader.first,
             reader.stop, total, meta["family"], meta["seq_length"], ref_mismatch)
    with atomic_output(out_h5, suffix=".h5") as tmp:
        writer = EffectsWriter(tmp, meta["targets"], attrs)
        try:
            with tqdm(total=reader.stop - reader.first, unit="record", desc="variant effects", mininterval=5) as bar:
                # the next chunk's windows are cut while this one is on the device
                for refs, alts, table in read_ahead(scorer.windows(chunk) for chunk in reader):
                    if refs:
                        writer.append(table, scorer.score(refs, alts))
                    bar.update(reader.counts["records"] - bar.n)
        finally:
            writer.close()
    result = {"input": str(variants), "part": f"{part + 1}/{parts}", "records": reader.counts["records"],
              "alleles": reader.counts["alleles"], "multiallelic_records": reader.counts["multiallelic"],
              "scored": writer.rows, "skipped": dict(reader.skipped + scorer.skipped),
              "flagged": dict(scorer.flags), "ref_mismatch_policy": ref_mismatch,
              "ref_mismatch_examples": scorer.mismatch_examples, "unknown_chromosomes": dict(scorer.unknown_chroms),
              "malformed_examples": reader.malformed_examples}
    write_summary(summary, result)
    return result


def write_summary(path: Path, summary: dict) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    skipped = ", ".join(f"{n} {k} ({SKIP_REASONS[k]})" for k, n in summary["skipped"].items()) or "none"
    log.info("scored %d of %d alleles; skipped: %s; flagged: %s", summary["scored"], summary["alleles"],
             skipped, summary["flagged"] or "none")


# ---------------------------------------------------------------- gather and export
def gather(parts: list[Path], summaries: list[Path], out_h5: Path, summary: Path) -> None:
    """Concatenates scattered parts in order into one HDF5 and one summary."""
    if not parts or len(parts) != len(summaries):
        raise InputError("gather needs the parts' HDF5 files (--part-files) and as many summaries (--summaries)")
    total: dict = {}
    with atomic_output(out_h5, suffix=".h5") as tmp:
        with h5py.File(parts[0], "r") as first:
            writer = EffectsWriter(tmp, list(first["targets"].asstr()[:]), dict(first.attrs))
        try:
            for part in parts:
                with h5py.File(part, "r") as h5:
                    for start in range(0, len(h5["variants/pos"]), 8192):
                        stop = start + 8192
                        writer.append(read_table(h5, start, stop), {s: h5[s][start:stop] for s in SCORES})
        finally:
            writer.close()
    for path in summaries:
        part = json.loads(Path(path).read_text())
        for key, value in part.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, dict):
                total[key] = dict(Counter(total.get(key, {})) + Counter(value))
            elif isinstance(value, list):
                total[key] = (total.get(key, []) + value)[:20]
            else:
                total.setdefault(key, value)
    total["part"] = f"{len(summaries)} parts"
    write_summary(summary, total)


def vcf_key(score: str, target: str, used: set) -> str:
    """A VCF INFO key for one score and target: letters, digits, '_' and '.', unique."""
    key = re.sub(r"[^0-9A-Za-z_.]", "_", f"{score}_{target}")
    base, n = key, 1
    while key in used:
        n += 1
        key = f"{base}_{n}"
    used.add(key)
    return key


def export(h5_path: Path, *, tsv: Path | None = None, layout: str = "wide", vcf: Path | None = None,
           scores=SCORES, vcf_scores=("diff",), genome_fasta: Path | None = None, rows: int = 2048) -> None:
    """TSV and/or VCF from an effects HDF5, streamed ``rows`` variants at a time."""
    if layout not in ("wide", "long"):
        raise InputError(f"layout {layout!r}: use wide or long")
    for s in list(scores) + list(vcf_scores):
        if s not in SCORES:
            raise InputError(f"score {s!r} is not one of {', '.join(SCORES)}")
    with h5py.File(h5_path, "r") as h5:
        targets = list(h5["targets"].asstr()[:])
        n = len(h5["variants/pos"])
        if tsv is not None:
            with atomic_output(tsv) as tmp, open(tmp, "w") as out:
                _write_tsv(h5, out, targets, n, layout, scores, rows)
        if vcf is not None:
            with atomic_output(vcf) as tmp, open(tmp, "w") as out:
                _write_vcf(h5, out, targets, n, vcf_scores, genome_fasta, rows)


def _write_tsv(h5, out, targets, n, layout, scores, rows) -> None:
    ids = ["chrom", "pos", "id", "ref", "alt", "flags"]
    if layout == "wide":
        out.write("\t".join(ids + [f"{s}:{t}" for s in scores for t in targets]) + "\n")
    else:
        out.write("\t".join(ids + ["target"] + list(scores)) + "\n")
    for start in range(0, n, rows):
        table = read_table(h5, start, start + rows)
        values = np.stack([h5[s][start:start + rows] for s in scores], axis=1)     # (r, S, T)
        for i in range(len(table["pos"])):
            head = "\t".join(str(table[c][i]) for c in ids)
            if layout == "wide":
                out.write(head + "\t" + "\t".join(f"{x:.6g}" for x in values[i].ravel()) + "\n")
            else:
                out.writelines(f"{head}\t{t}\t" + "\t".join(f"{x:.6g}" for x in values[i, :, j]) + "\n"
                               for j, t in enumerate(targets))


def _write_vcf(h5, out, targets, n, scores, genome_fasta, rows) -> None:
    used: set = set()
    keys = {(s, t): vcf_key(s, t, used) for s in scores for t in targets}
    out.write("##fileformat=VCFv4.2\n##source=seq2reg variant_effects\n")
    out.write(f"##seq2reg_model={h5.attrs.get('model', '')}\n")
    chroms: dict = {}
    for start in range(0, n, rows):
        chroms.update(dict.fromkeys(h5["variants/chrom"].asstr()[start:start + rows]))
    genome = GenomeWindows(genome_fasta) if genome_fasta else None
    for chrom in chroms:
        name = genome.resolve(chrom) if genome else None
        out.write(f"##contig=<ID={chrom}" + (f",length={genome.sizes[name]}" if name else "") + ">\n")
    out.write('##INFO=<ID=S2R_FLAGS,Number=.,Type=String,Description="seq2reg flags: ref_mismatch, near_end, '
              'n_in_window, indel">\n')
    for (s, t), key in keys.items():
        quoted = t.replace("\\", "\\\\").replace('"', '\\"')
        out.write(f'##INFO=<ID={key},Number=1,Type=Float,Description="seq2reg {s} for target {quoted}">\n')
    out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    for start in range(0, n, rows):
        table = read_table(h5, start, start + rows)
        values = {s: h5[s][start:start + rows] for s in scores}
        for i in range(len(table["pos"])):
            ref, alt, pos = table["ref"][i], table["alt"][i], int(table["pos"][i])
            info = ([f"S2R_FLAGS={table['flags'][i]}"] if table["flags"][i] else []) + \
                [f"{keys[s, t]}={values[s][i, j]:.6g}" for s in scores for j, t in enumerate(targets)]
            out.write(f"{table['chrom'][i]}\t{pos}\t{table['id'][i]}\t{ref}\t{alt}\t.\t.\t{';'.join(info) or '.'}\n")


# ---------------------------------------------------------------- command line
def main(args) -> None:
    if args.model:
        args.weights, args.meta = args.model / "weights.pt", args.model / "model.json"
    if args.command == "score":
        missing = [f"--{k}" for k in ("variants", "weights", "genome") if getattr(args, k) is None]
        if missing:
            raise InputError(f"score needs {', '.join(missing)}")
        score_file(args.variants, args.weights, args.meta, args.genome, args.out_h5, args.summary,
                   ref_mismatch=args.ref_mismatch, max_indel=args.max_indel, rc_average=args.rc_average,
                   batch_size=args.batch_size, chunk_size=args.chunk_size, part=args.part, parts=args.parts,
                   on_malformed=args.on_malformed)
    else:
        gather(args.part_files, args.summaries, args.out_h5, args.summary)
    if args.tsv or args.vcf:
        export(args.out_h5, tsv=args.tsv, layout=args.layout, vcf=args.vcf, scores=args.scores,
               vcf_scores=args.vcf_scores, genome_fasta=args.genome)


def build_parser():
    p = cli.parser(__doc__.split("\n")[0])
    p.add_argument("command", choices=["score", "gather"])
    p.add_argument("--variants", type=Path, help="VCF (plain or bgzipped) or TSV chrom pos ref alt")
    p.add_argument("--model", type=Path, help="a trained model's directory (or --weights and --meta)")
    p.add_argument("--weights", type=Path)
    p.add_argument("--meta", type=Path)
    p.add_argument("--genome", type=Path, help="FASTA with a .fai index (the pipeline's genome)")
    p.add_argument("--ref-mismatch", choices=POLICIES, default="skip")
    p.add_argument("--max-indel", type=int, default=50)
    p.add_argument("--on-malformed", choices=["error", "skip"], default="error",
                   help="a malformed line stops the run (default) or is skipped and counted")
    p.add_argument("--rc-average", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--chunk-size", type=int, default=4096)
    p.add_argument("--part", type=int, default=0, help="0-based part of --parts (record ranges)")
    p.add_argument("--parts", type=int, default=1)
    p.add_argument("--part-files", nargs="*", type=Path, default=[], help="gather: the parts' HDF5 files, in order")
    p.add_argument("--summaries", nargs="*", type=Path, default=[])
    p.add_argument("--out-h5", type=Path, required=True)
    p.add_argument("--summary", type=Path, required=True)
    p.add_argument("--tsv", type=Path)
    p.add_argument("--layout", choices=["wide", "long"], default="wide")
    p.add_argument("--scores", nargs="+", default=list(SCORES))
    p.add_argument("--vcf", type=Path)
    p.add_argument("--vcf-scores", nargs="+", default=["diff"])
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
