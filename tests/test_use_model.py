"""Using a trained model: predictions, variant effects and saturation mutagenesis, on a real
FASTA (with .fai), real HDF5, real VCFs read back by bcftools (pysam), and Kircher et al. 2019's
real MPRA variants on real hg19 sequence. The per-model checks (every zoo model: mutants by the
fast way equal whole-model predictions) are in test_model_contract.py."""
from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pysam
import pysam.bcftools
import pytest
import torch

from conftest import ROOT, write_toy_dataset
from models import build_model
from workflow_scripts.cli import InputError
from workflow_scripts.fasta import GenomeWindows
from workflow_scripts.inference import load_trained, predict_split, write_trained
from workflow_scripts.inference.predict import predict_codes
from workflow_scripts.loaders import SplitReader
from workflow_scripts.mutagenesis import mutagenesis, mutated_span, saturation_mutagenesis
from workflow_scripts.predict_sequences import predict_file
from workflow_scripts.sequence import encode
from workflow_scripts.variant_effects import (SCORES, VariantScorer, allele_window, export, gather, score_file,
                                              snv_windows)
from workflow_scripts.variant_files import VariantReader

sys.path.insert(0, str(ROOT / "benchmarks"))
import cagi5  # noqa: E402

LENGTH = 100
TARGETS = ["K562|DNase|None", "HepG2|CTCF|None", "GM12878|EBF1|None"]
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """chr1 (3 kb, soft-masked stretch, an N run), chr2 (1 kb) and chrM, indexed."""
    d = tmp_path_factory.mktemp("genome")
    rng = np.random.default_rng(3)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in (("chr1", 3000), ("chr2", 1000), ("chrM", 400))}
    seqs["chr1"] = seqs["chr1"][:500] + seqs["chr1"][500:600].lower() + "N" * 50 + seqs["chr1"][650:]
    fa = d / "genome.fa"
    fa.write_text("".join(f">{c}\n" + "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n"
                          for c, s in seqs.items()))
    pysam.faidx(str(fa))
    return fa


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small DeepSEA-family model with weights large enough that every base matters."""
    d = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    args = {"conv_filters": [8, 8, 8], "hidden": 16, "init_range": 0.3, "pool_width": 2}
    model = build_model("deepsea", len(TARGETS), LENGTH, **args)
    write_trained(model.state_dict(), {"family": "deepsea", "args": args, "targets": TARGETS,
                                       "categories": ["DNase", "TF", "TF"], "seq_length": LENGTH, "train": {},
                                       "dataset": "test"}, d / "weights.pt", d / "model.json")
    return d



def test_a_trained_model_is_used_at_its_trainings_precision(model_dir, tmp_path):
    """evaluate and every use stage load through load_trained: a model trained with precision
    fp32 is not run under bf16 autocast (the default for models trained without the setting)."""
    meta = json.loads((model_dir / "model.json").read_text())
    assert load_trained(model_dir / "weights.pt", model_dir / "model.json")[0].precision == "bf16"
    (tmp_path / "model.json").write_text(json.dumps({**meta, "train": {"precision": "fp32"}}))
    assert load_trained(model_dir / "weights.pt", tmp_path / "model.json")[0].precision == "fp32"

def letters(genome, chrom, pos, n=1):           # 1-based
    return GenomeWindows(genome).letters(chrom, pos - 1, pos - 1 + n)


def score(tmp_path, genome, model_dir, text: str, name="v.vcf", **kw):
    path = tmp_path / name
    if name.endswith(".gz"):                                                  # bgzip, as bcftools writes
        (tmp_path / "plain").write_text(text)
        pysam.tabix_compress(str(tmp_path / "plain"), str(path), force=True)
    else:
        path.write_text(text)
    summary = score_file(path, model_dir / "weights.pt", model_dir / "model.json", genome, tmp_path / "out.h5",
                         tmp_path / "summary.json", **kw)
    with h5py.File(tmp_path / "out.h5") as h5:
        table = {c: h5[f"variants/{c}"][:] for c in ("pos", "line")}
        table.update({c: list(h5[f"variants/{c}"].asstr()[:]) for c in ("chrom", "id", "ref", "alt", "flags")})
        scores = {s: h5[s][:] for s in SCORES}
    return summary, table, scores


def probs_of(model_dir, codes):
    model, _ = load_trained(model_dir / "weights.pt", model_dir / "model.json")
    return predict_codes(model, torch.as_tensor(np.stack(codes)), rc_average=True).numpy()


# ---------------------------------------------------------------- windows
def test_a_snv_sits_at_index_L_over_2_minus_1_and_indels_keep_the_window_centred(genome):
    g = GenomeWindows(genome)
    ref = g.letters("chr2", 499, 500)
    codes, near = allele_window(g, "chr2", 499, 1, "A", LENGTH)
    assert len(codes) == LENGTH and not near and codes[LENGTH // 2 - 1] == 0
    assert (codes[:49] == encode(g.letters("chr2", 450, 499))).all()
    assert (codes[50:] == encode(g.letters("chr2", 500, 550))).all()
    ins, _ = allele_window(g, "chr2", 499, 1, ref + "GGGG", LENGTH)          # 5 bases centred on index 49
    assert len(ins) == LENGTH and (ins[47:52] == encode(ref + "GGGG")).all()
    dele, _ = allele_window(g, "chr2", 499, 3, ref, LENGTH)                   # the anchor at 49, then the bases after the deletion
    assert (dele[49] == encode(ref)).all() and (dele[50:] == encode(g.letters("chr2", 502, 552))).all()
    edge, near = allele_window(g, "chr2", 2, 1, "C", LENGTH)
    assert near and (edge[:47] == 4).all() and edge[49] == 1
    for pos0 in (2, 499, g.sizes["chr2"] - 3):                                # a SNV's one-read windows: the same
        base = g.letters("chr2", pos0, pos0 + 1)
        ref_w, alt_w, near = snv_windows(g, "chr2", pos0, base, "C", LENGTH)
        assert (ref_w == allele_window(g, "chr2", pos0, 1, base, LENGTH)[0]).all()
        assert (alt_w == allele_window(g, "chr2", pos0, 1, "C", LENGTH)[0]).all()
        assert near == allele_window(g, "chr2", pos0, 1, "C", LENGTH)[1]
        other = "A" if base != "A" else "G"                                   # a REF the genome lacks (substitute)
        assert (snv_windows(g, "chr2", pos0, other, "C", LENGTH)[0] == allele_window(g, "chr2", pos0, 1, other, LENGTH)[0]).all()


# ---------------------------------------------------------------- reading and scoring
def test_every_case_is_scored_skipped_or_flagged_and_counted(tmp_path, genome, model_dir):
    r1, r2 = letters(genome, "chr1", 200), letters(genome, "chr1", 201, 3)
    alt1, alt2 = [b for b in "ACGT" if b != r1][:2]
    text = HEADER + "".join(f"{line}\n" for line in [
        f"chr1\t200\trs1\t{r1}\t{alt1},{alt2}",                                     # multi-allelic: 2 variants
        f"1\t201\t.\t{r2}\t{r2[0]}",                                                 # Ensembl name, deletion
        f"chr1\t300\t.\t{letters(genome, 'chr1', 300)}\t{letters(genome, 'chr1', 300)}TTT",   # insertion
        "chr1\t301\t.\tA\t.", "chr1\t302\t.\tA\t*", "chr1\t303\t.\tA\t<DEL>", "chr1\t304\t.\tA\tA[chr2:5[",
        f"MT\t10\t.\t{letters(genome, 'chrM', 10)}\tA",                              # MT -> chrM
        f"chr2\t3\t.\t{letters(genome, 'chr2', 3)}\tA",                              # near the start
        f"chr2\t999\t.\t{letters(genome, 'chr2', 999)}\tA",                          # near the end
        "chr1\t620\t.\tN\tA",                                                       # N in the window (REF N matches)
        f"chr1\t550\t.\t{letters(genome, 'chr1', 550).lower()}\tA",                  # soft-masked: matches
        "chr1\t2999\t.\tAAAAA\tA",                                                   # runs past the end
        "chr9\t10\t.\tA\tG",                                                         # not in the genome
        f"chr1\t400\t.\t{'A' * 60}\tA"])                                             # longer than max_indel
    summary, table, scores = score(tmp_path, genome, model_dir, text, max_indel=50)
    ids = [f"{c}:{p}" for c, p in zip(table["chrom"], table["pos"])]
    assert ids == ["chr1:200", "chr1:200", "1:201", "chr1:300", "MT:10", "chr2:3", "chr2:999", "chr1:620", "chr1:550"]
    assert table["id"][:2] == ["rs1", "rs1"] and table["id"][2] == f"1:201:{r2}:{r2[0]}"
    assert summary["records"] == 15 and summary["alleles"] == 16 and summary["multiallelic_records"] == 1
    assert summary["skipped"] == {"no_alt": 1, "star_allele": 1, "symbolic": 2, "outside_chrom": 1,
                                  "unknown_chrom": 1, "indel_too_long": 1}
    assert summary["unknown_chromosomes"] == {"chr9": 1}
    flags = dict(zip(ids, table["flags"]))
    assert "near_end" in flags["chr2:3"] and "near_end" in flags["chr2:999"] and flags["1:201"] == "indel"
    assert "n_in_window" in flags["chr1:620"] and flags["chr1:200"] == ""
    assert table["line"][0] == 3                                              # the VCF's line
    d = scores["p_alt"] - scores["p_ref"]
    assert np.allclose(scores["diff"], d, atol=1e-6)
    logit = lambda p: np.log(p / (1 - p))                                     # noqa: E731
    assert np.allclose(scores["logit_diff"], logit(scores["p_alt"]) - logit(scores["p_ref"]), atol=1e-4)
    assert np.allclose(scores["deepsea"], np.abs(scores["logit_diff"]) * np.abs(scores["diff"]), atol=1e-6)
    assert np.abs(scores["diff"][:2]).max() > 1e-4                           # the model sees the change


def test_scores_are_the_models_predictions_of_the_two_windows(tmp_path, genome, model_dir):
    ref = letters(genome, "chr2", 500)
    _, _, scores = score(tmp_path, genome, model_dir, HEADER + f"chr2\t500\t.\t{ref}\tA\t.\t.\t.\n")
    g = GenomeWindows(genome)
    windows = [allele_window(g, "chr2", 499, 1, a, LENGTH)[0] for a in (ref, "A")]
    expected = probs_of(model_dir, windows)
    assert np.allclose(scores["p_ref"][0], expected[0], atol=1e-6)
    assert np.allclose(scores["p_alt"][0], expected[1], atol=1e-6)


def test_ref_mismatch_policies_refuse_skip_substitute(tmp_path, genome, model_dir):
    true = letters(genome, "chr2", 500)
    wrong = "A" if true != "A" else "C"
    alt = next(b for b in "GT" if b != true)
    text = HEADER + f"chr2\t500\t.\t{true}\t{alt}\t.\t.\t.\nchr2\t500\t.\t{wrong}\t{alt}\t.\t.\t.\n"
    with pytest.raises(InputError, match=r"v\.vcf:4: REF .* differs from the genome"):
        score(tmp_path, genome, model_dir, text, ref_mismatch="refuse")
    summary, table, _ = score(tmp_path, genome, model_dir, text, ref_mismatch="skip")
    assert len(table["pos"]) == 1 and summary["skipped"] == {"ref_mismatch": 1}
    assert summary["flagged"] == {"ref_mismatch": 1} and "v.vcf:4" in summary["ref_mismatch_examples"][0]
    summary, table, scores = score(tmp_path, genome, model_dir, text, ref_mismatch="substitute")
    assert table["flags"] == ["", "ref_mismatch"] and summary["skipped"] == {}
    assert np.allclose(scores["p_alt"][0], scores["p_alt"][1])                # same alt window
    assert not np.allclose(scores["p_ref"][0], scores["p_ref"][1])            # the given REF was scored


def test_malformed_lines_stop_with_file_and_line(tmp_path, genome, model_dir):
    for bad, message in [("chr1\tten\t.\tA\tG", "POS 'ten'"), ("chr1\t10\t.\tA\tQ", "ALT 'Q'"),
                         ("chr1\t10\t.\tA", "expected at least 5")]:
        with pytest.raises(InputError, match=rf"v\.vcf:3: {message}"):
            score(tmp_path, genome, model_dir, HEADER + bad + "\n")


def test_tsv_input_with_and_without_header_and_bgzipped_vcf(tmp_path, genome, model_dir):
    r = letters(genome, "chr2", 500)
    _, a, sa = score(tmp_path, genome, model_dir, f"Chrom\tPos\tRef\tAlt\tExtra\n2\t500\t{r}\tA\tx\n2\t501\t{letters(genome, 'chr2', 501)}\t-\ty\n",
                     name="v.tsv")
    _, b, sb = score(tmp_path, genome, model_dir, f"chr2\t500\t{r}\tA\n", name="plain.tsv")
    _, c, sc = score(tmp_path, genome, model_dir, HEADER + f"chr2\t500\t.\t{r}\tA\t.\t.\t.\n", name="v.vcf.gz")
    assert a["alt"][0] == "A" and a["flags"][1] == "indel"
    assert (a["pos"][1], a["ref"][1], a["alt"][1]) == (500, letters(genome, "chr2", 500, 2), r)   # VCF form
    assert np.allclose(sa["diff"][0], sb["diff"][0]) and np.allclose(sb["diff"][0], sc["diff"][0])


def test_a_tsv_indel_scores_as_its_vcf_form_and_odd_rows_are_handled(tmp_path, genome, model_dir):
    g = lambda p, n=1: letters(genome, "chr1", p, n)                           # noqa: E731
    tsv = f"chrom\tpos\tref\talt\nchr1\t601\t{g(601)}\t-\nchr1\t701\t-\tG\nchr1\t1\t{g(1)}\t-\nchr1\t9\tA\tA\n"
    summary, t_tsv, s_tsv = score(tmp_path, genome, model_dir, tsv, name="v.tsv")
    vcf = HEADER + f"chr1\t600\t.\t{g(600, 2)}\t{g(600)}\t.\t.\t.\nchr1\t700\t.\t{g(700)}\t{g(700)}G\t.\t.\t.\n"
    _, t_vcf, s_vcf = score(tmp_path, genome, model_dir, vcf)
    np.testing.assert_allclose(s_tsv["diff"][:2], s_vcf["diff"], atol=1e-6)
    assert list(t_tsv["pos"]) == [600, 700, 1] and t_tsv["ref"][2] == g(1, 2) and t_tsv["alt"][2] == g(2)
    assert summary["skipped"] == {"no_change": 1}
    with pytest.raises(InputError, match=r"v\.tsv:2: expected a chrom, pos, ref and alt column"):
        score(tmp_path, genome, model_dir, "chrom\tpos\tref\talt\nchr1\t20\tA\n", name="v.tsv")
    with pytest.raises(InputError, match=r"v\.vcf:3: POS '2²'"):
        score(tmp_path, genome, model_dir, HEADER + "chr1\t2²\t.\tA\tG\n")
    with pytest.raises(InputError, match=r"max_indel 200: an allele must be shorter than the model's 100 bp"):
        score(tmp_path, genome, model_dir, HEADER, max_indel=200)


def test_scattered_parts_gather_to_the_single_jobs_output(tmp_path, genome, model_dir):
    rng = np.random.default_rng(0)
    g = GenomeWindows(genome)
    lines = []
    for pos in sorted(rng.integers(1, 2990, 40)):
        ref = g.letters("chr1", int(pos) - 1, int(pos))
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{'G' if ref != 'G' else 'T'}\t.\t.\t.\n")
    vcf = tmp_path / "many.vcf"
    vcf.write_text(HEADER + "".join(lines))
    w, m = model_dir / "weights.pt", model_dir / "model.json"
    score_file(vcf, w, m, genome, tmp_path / "one.h5", tmp_path / "one.json", chunk_size=7)
    for part in range(3):
        score_file(vcf, w, m, genome, tmp_path / f"p{part}.h5", tmp_path / f"p{part}.json", part=part, parts=3,
                   chunk_size=5)
    gather([tmp_path / f"p{i}.h5" for i in range(3)], [tmp_path / f"p{i}.json" for i in range(3)],
           tmp_path / "all.h5", tmp_path / "all.json")
    with h5py.File(tmp_path / "one.h5") as one, h5py.File(tmp_path / "all.h5") as all_:
        for s in SCORES:                       # batches differ, so equal to float rounding
            assert np.allclose(one[s][:], all_[s][:], atol=1e-6)
        assert list(one["variants/id"].asstr()[:]) == list(all_["variants/id"].asstr()[:])
    assert json.loads((tmp_path / "all.json").read_text())["scored"] == 40


def test_tsv_and_vcf_exports_read_back_by_bcftools(tmp_path, genome, model_dir):
    r = letters(genome, "chr2", 500)
    deleted = letters(genome, "chr2", 600)
    score(tmp_path, genome, model_dir, f"chrom\tpos\tref\talt\nchr2\t500\t{r}\tA\nchr2\t600\t{deleted}\t-\n", name="v.tsv")
    export(tmp_path / "out.h5", tsv=tmp_path / "wide.tsv", vcf=tmp_path / "out.vcf", vcf_scores=["diff", "deepsea"],
           genome_fasta=genome)
    export(tmp_path / "out.h5", tsv=tmp_path / "long.tsv", layout="long", scores=["diff"])
    with h5py.File(tmp_path / "out.h5") as h5:
        diff = h5["diff"][:]
    wide = (tmp_path / "wide.tsv").read_text().splitlines()
    assert wide[0].split("\t")[6] == f"p_ref:{TARGETS[0]}" and len(wide[0].split("\t")) == 6 + 5 * len(TARGETS)
    long = [line.split("\t") for line in (tmp_path / "long.tsv").read_text().splitlines()]
    assert len(long) == 1 + 2 * len(TARGETS) and long[2][6] == TARGETS[1]
    assert float(long[2][7]) == pytest.approx(diff[0, 1], abs=1e-5)
    query = pysam.bcftools.query("-f", "%CHROM\t%POS\t%REF\t%ALT\t%INFO/diff_HepG2_CTCF_None\n", str(tmp_path / "out.vcf"))
    rows = [line.split("\t") for line in query.strip().splitlines()]
    anchor = letters(genome, "chr2", 599)
    assert rows[0][:4] == ["chr2", "500", r, "A"]
    assert rows[1][:4] == ["chr2", "599", anchor + deleted, anchor]          # '-' written with its anchor base
    assert float(rows[0][4]) == pytest.approx(diff[0, 1], abs=1e-5)
    assert "seq2reg diff for target HepG2|CTCF|None" in pysam.bcftools.view("-h", str(tmp_path / "out.vcf"))


def test_memory_does_not_hold_the_input(tmp_path, genome, model_dir):
    """The reader is lazy and the scorer sees one chunk at a time (the 1 M-variant figure is in
    benchmarks/variant_scoring.py)."""
    vcf = tmp_path / "big.vcf"
    with open(vcf, "w") as out:
        out.write(HEADER)
        out.writelines(f"chr1\t{p}\t.\tN\tA\t.\t.\t.\n" for p in range(1, 20001))
    reader = VariantReader(vcf, max_indel=10, chunk_size=1000)
    first = next(iter(reader))
    assert len(first) == 1000 and reader.counts["records"] <= 1001


# ---------------------------------------------------------------- real variants (CAGI5)
def test_cagi5_real_variants_read_and_all_but_one_ref_match(tmp_path):
    counts = cagi5.prepare(tmp_path)
    assert counts == {"in_sequence": 28429, "no_sequence": 16218, "no_position": 11}
    genome = GenomeWindows(tmp_path / "elements.fa")
    reader = VariantReader(tmp_path / "variants.tsv", max_indel=50, chunk_size=5000)
    scorer = VariantScorer(None, {"seq_length": 600}, genome, source=tmp_path / "variants.tsv", ref_mismatch="skip",
                           rc_average=False, batch_size=1, device="cpu")
    kept = sum(len(scorer.windows(chunk)[0]) for chunk in reader)
    assert reader.counts["records"] == 28429 and scorer.flags["ref_mismatch"] == 1 and kept == 28428
    assert scorer.skipped == {"ref_mismatch": 1}
    raw = ROOT / "tests/data/cagi5/kircher2019_elements_grch37.tsv.gz"
    with pytest.raises(InputError, match=r"kircher2019_elements_grch37\.tsv\.gz:\d+: POS 'NA'"):
        for _ in VariantReader(raw, max_indel=50):
            pass
    lenient = VariantReader(raw, max_indel=50, on_malformed="skip")
    read = sum(len(chunk) for chunk in lenient)
    assert lenient.skipped["malformed"] == 11 and "POS 'NA'" in lenient.malformed_examples[0]
    assert read + sum(lenient.skipped.values()) == lenient.counts["alleles"] == 44658


def test_cagi5_benchmark_runs_end_to_end(tmp_path, model_dir):
    done = subprocess.run([sys.executable, "benchmarks/cagi5.py", "--model", str(model_dir), "--target", "K562",
                           "--cell-type", "F9=HepG2", "--conditions", "F9", "HBB", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split("\t") for line in (tmp_path / "correlations.tsv").read_text().splitlines()]
    assert [r[:4] for r in rows[1:]] == [["F9", "HepG2", "1", "984"], ["HBB", "K562", "1", "623"]]
    assert all(-1 <= float(r[4]) <= 1 for r in rows[1:]) and (tmp_path / "correlations.png").stat().st_size > 0


# ---------------------------------------------------------------- predictions
def test_predict_fasta_bed_and_split(tmp_path, genome, model_dir):
    fa = tmp_path / "x.fa"
    fa.write_text(">short\nACGTACGT\n>exact\n" + "ACGT" * 25 + "\n>long\n" + "T" * 130 + "\n")
    predict_file(model_dir, tmp_path / "fa.tsv", fasta=fa)
    rows = [line.split("\t") for line in (tmp_path / "fa.tsv").read_text().splitlines()]
    assert [r[0] for r in rows[1:]] == ["short", "exact", "long"] and [r[4] for r in rows[1:]] == ["padded", "", "cropped"]
    exact = probs_of(model_dir, [encode("ACGT" * 25)])[0]
    assert np.allclose([float(x) for x in rows[2][5:]], exact, atol=1e-5)

    bed = tmp_path / "r.bed"
    bed.write_text("chr2\t480\t520\tsite\n2\t0\t10\nchrZ\t5\t50\n")
    predict_file(model_dir, tmp_path / "bed.h5", bed=bed, genome_fasta=genome)
    with h5py.File(tmp_path / "bed.h5") as h5:
        assert list(h5["rows/name"].asstr()[:]) == ["site", "2:0-10"] and h5["probs"].shape == (2, 3)
        window = GenomeWindows(genome).codes("chr2", 500 - LENGTH // 2, LENGTH)
        assert np.allclose(h5["probs"][0], probs_of(model_dir, [window])[0], atol=1e-6)
        assert list(h5["rows/flags"].asstr()[:]) == ["", "near_end"]

    data = write_toy_dataset(tmp_path / "toy.h5", length=LENGTH, n={"train": 10, "valid": 10, "test": 30}, chunk_rows=8)
    predict_file(model_dir, tmp_path / "split.h5", dataset=data, split="test")
    model, _ = load_trained(model_dir / "weights.pt", model_dir / "model.json")
    expected = predict_split(model, SplitReader(data, "test"), torch.device("cpu"), batch_size=7, rc_average=True)
    with h5py.File(tmp_path / "split.h5") as h5:
        assert np.allclose(h5["probs"][:], expected.probs, atol=1e-6)
    with pytest.raises(InputError, match="needs --genome"):
        predict_file(model_dir, tmp_path / "x.tsv", bed=bed)


# ---------------------------------------------------------------- mutagenesis
def test_saturation_mutagenesis_effects_and_files(tmp_path, genome, model_dir):
    model, _ = load_trained(model_dir / "weights.pt", model_dir / "model.json")
    codes = GenomeWindows(genome).codes("chr2", 300, LENGTH)
    positions = np.arange(40, 60)
    ref, effects = saturation_mutagenesis(model, codes, positions, torch.device("cpu"), rc_average=True)
    assert effects.shape == (20, 4, 3)
    assert (effects[np.arange(20), codes[positions]] == 0).all()                 # identity: not run, 0
    i, b = 5, (codes[45] + 1) % 4
    mutant = codes.copy()
    mutant[45] = b
    assert np.allclose(effects[i, b], probs_of(model_dir, [mutant])[0] - ref, atol=1e-5)
    assert mutated_span(480, 520, LENGTH, 200) == (30, 40) and mutated_span(-1, -1, LENGTH, 30) == (35, 30)
    bed = tmp_path / "r.bed"
    bed.write_text("chr2\t480\t520\tsite\nchr1\t1000\t1500\twide\n")
    assert mutagenesis(model_dir, tmp_path / "ism.h5", tmp_path / "ism.pdf", bed=bed, genome_fasta=genome, span=30) == 2
    with h5py.File(tmp_path / "ism.h5") as h5:
        assert h5["seq0/effects"].shape == (30, 4, 3) and h5["seq1/effects"].shape == (30, 4, 3)
        assert h5["seq0"].attrs["first"] == 485 and h5["seq1"].attrs["first"] == 1235
        assert list(h5["seq0/codes"][:]) == list(GenomeWindows(genome).codes("chr2", 485, 30))
    assert (tmp_path / "ism.pdf").read_bytes()[:4] == b"%PDF"


def test_seq2reg_subcommands_run_on_a_trained_model(tmp_path, genome, model_dir):
    (tmp_path / "v.tsv").write_text(f"chr2\t500\t{letters(genome, 'chr2', 500)}\tA\n")
    env_ok = subprocess.run(["./seq2reg", "variants", "--model", str(model_dir), "--variants", str(tmp_path / "v.tsv"),
                             "--genome", str(genome), "--out-h5", str(tmp_path / "o.h5"),
                             "--summary", str(tmp_path / "s.json"), "--tsv", str(tmp_path / "o.tsv")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert env_ok.returncode == 0, env_ok.stderr[-3000:]
    assert json.loads((tmp_path / "s.json").read_text())["scored"] == 1
    bad = subprocess.run(["./seq2reg", "variants", "--model", str(model_dir), "--variants", str(tmp_path / "nope.vcf"),
                          "--genome", str(genome), "--out-h5", str(tmp_path / "x.h5"), "--summary", str(tmp_path / "x.json")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "nope.vcf" in bad.stderr and "Traceback" not in bad.stderr
