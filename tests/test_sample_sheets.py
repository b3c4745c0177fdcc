"""Sample sheets: the accepted format and every refusal (each message names file and line)."""
import pandas as pd
import pytest

from conftest import ROOT
from workflow_scripts.cli import InputError
from workflow_scripts.sample_sheets import download_key, local_path, read_sample_sheet, url_kind

HEADER = "name\tcategory\turl\tmd5\n"


def sheet(tmp_path, body, header=HEADER):
    p = tmp_path / "samples.tsv"
    p.write_text(header + body)
    return p


def test_valid_sheet_with_comments_and_optional_columns(tmp_path):
    p = sheet(tmp_path, "# a comment\nA.1\tDNase\thttp://x.org/a.bed.gz\t\nB_2\tTF\tfile:///data/b.bed\t"
                        "0123456789abcdef0123456789ABCDEF\n", header="name\tcategory\turl\tmd5\n")
    s = read_sample_sheet(p)
    assert [x.name for x in s] == ["A.1", "B_2"]
    assert s[1].md5 == "0123456789abcdef0123456789abcdef" and s[0].label == "A.1"


@pytest.mark.parametrize("name", ["../etc", "a/b", "a;rm -rf x", "$(id)", ".hidden", "-rf", "a b", "x" * 129, "a..b"])
def test_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(InputError, match=r"samples.tsv:2: unsafe sample name"):
        read_sample_sheet(sheet(tmp_path, f"{name}\tTF\thttp://x.org/a\t\n"))


@pytest.mark.parametrize("url", ["s3://bucket/a.bed", "javascript:alert(1)", "gs://x/y", "ssh://h/x"])
def test_other_schemes_are_refused(tmp_path, url):
    with pytest.raises(InputError, match=r"samples.tsv:2: unsupported URL scheme"):
        read_sample_sheet(sheet(tmp_path, f"a\tTF\t{url}\t\n"))


@pytest.mark.parametrize("body,message", [
    ("a\tChIP\thttp://x/a\t\n", "category 'ChIP' is not one of"),
    ("a\tTF\thttp://x/a\tnothex\n", "md5 'nothex' is not 32 hex digits"),
    ("a\tTF\thttp://x/a\n", "expected 4 tab-separated cells, found 3"),
    ("a\tTF\thttp://x/a\t\na\tTF\thttp://x/b\t\n", "sample name 'a' already used on line 2"),
    ("a\tTF\thttp:///nohost\t\n", "has no host"),
])
def test_bad_rows(tmp_path, body, message):
    with pytest.raises(InputError, match=r"samples.tsv:\d+: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        read_sample_sheet(sheet(tmp_path, body))


def test_missing_columns_and_empty_sheet(tmp_path):
    with pytest.raises(InputError, match=r"samples.tsv:1: header lacks column\(s\) url"):
        read_sample_sheet(sheet(tmp_path, "", header="name\tcategory\n"))
    with pytest.raises(InputError, match="has no samples"):
        read_sample_sheet(sheet(tmp_path, ""))


def test_urls_kinds_and_cache_keys():
    assert url_kind("https://a.org/x") == "remote" and url_kind("ftp://a.org/x") == "remote"
    assert str(local_path("file:resources/x.bed")) == "resources/x.bed"
    assert str(local_path("file:///abs/x.bed")) == "/abs/x.bed"
    assert local_path("http://a/x") is None
    a, b = download_key("http://h/dir/f.narrowPeak.gz"), download_key("http://h/other/f.narrowPeak.gz")
    assert a != b and a.endswith("_f.narrowPeak.gz") and download_key("http://h/dir/f.narrowPeak.gz") == a
    assert "/" not in download_key("http://h/a%2F..%2Fb?x=../../c")


def test_a_byte_order_mark_is_ignored(tmp_path):
    for start in ("", "# a comment\n"):
        p = tmp_path / "samples.tsv"
        p.write_bytes(("\ufeff" + start + HEADER + "a\tTF\thttp://x/a\t\n").encode())
        assert [s.name for s in read_sample_sheet(p)] == ["a"]


def test_a_sheet_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    p = tmp_path / "samples.tsv"
    p.write_bytes((HEADER + "a\tTF\thttp://x/a\t\n").encode() + b"b\xe9\tTF\thttp://x/b\t\n")
    with pytest.raises(InputError, match=r"samples.tsv:3: not UTF-8 text: save the sample sheet as UTF-8"):
        read_sample_sheet(p)


LABELLED = "name\tcategory\turl\tlabel\n"


@pytest.mark.parametrize("body,message", [
    ("a\tTF\thttp://x/a\tK562|CTCF|None\nb\tTF\thttp://x/a\tK562|CTCF|None\n",
     "samples.tsv:3: label 'K562|CTCF|None' and url repeat line 2: the same peak file would be two targets"),
    ("a\tDNase\thttp://x/a\tK562\nb\tTF\thttp://x/b\tK562\n",
     "samples.tsv:3: label 'K562' is already used on line 2 for a DNase sample: a label may repeat only "
     "within one category"),
    ("a\tTF\thttp://x/a\t\nb\tTF\thttp://x/b\ta\n",
     "samples.tsv:3: label 'a' is the name, and so the label, of sample a on line 2: target names would collide"),
    ("a\tTF\thttp://x/a\tb\nb\tTF\thttp://x/b\t\n",
     "samples.tsv:3: label 'b' (this sample's name, as it has no label) is also the label of line 2: target "
     "names would collide"),
    ("a\tTF\thttp://x/a\tL\nb\tTF\thttp://x/b\tL\nc\tTF\thttp://x/a\tL\n",
     "samples.tsv:4: label 'L' and url repeat line 2"),
])
def test_colliding_labels_are_refused_naming_both_lines(tmp_path, body, message):
    with pytest.raises(InputError) as err:
        read_sample_sheet(sheet(tmp_path, body, header=LABELLED))
    assert message in str(err.value) and "\n  line: " in str(err.value)


def test_a_label_may_repeat_like_deepseas_features(tmp_path):
    """Same cell|factor|treatment from two labs: explicit labels, one category, different files."""
    s = read_sample_sheet(sheet(tmp_path, "a\tTF\thttp://x/a\tK562|CTCF|None\nb\tTF\thttp://x/b\tK562|Pol2|None\n"
                                          "c\tTF\thttp://y/c\tK562|CTCF|None\n", header=LABELLED))
    assert [x.label for x in s] == ["K562|CTCF|None", "K562|Pol2|None", "K562|CTCF|None"]


def test_samples_know_where_they_were_written(tmp_path):
    p = sheet(tmp_path, "# c\na\tTF\thttp://x/a\t\n")
    (a,) = read_sample_sheet(p)
    assert (a.sheet, a.line) == (str(p), 3)
    assert a.source == f"sample a from {p}:3 (url http://x/a)"


def test_the_real_hg19_sheets_stay_valid_with_deepseas_repeated_names():
    features = read_sample_sheet(ROOT / "config/hg19/samples_features.tsv")
    labels = pd.Series([s.label for s in features])
    assert len(features) == 919 and labels.nunique() == 844                 # 54 names repeat, 75 rows
    assert labels.groupby(labels).size().max() == 5                         # K562|CTCF|None
    repeated = [s for s in features if (labels == s.label).sum() > 1]       # told apart by order, as in
    assert {s.category for s in repeated} == {"TF"}                         # compare.occurrence_key
    assert len({(s.label, s.url) for s in repeated}) == len(repeated) == 54 + 75
    basset = read_sample_sheet(ROOT / "config/hg19/samples_dhs600.tsv")
    assert len({s.label for s in basset}) == len(basset) == 164
