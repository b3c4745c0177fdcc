"""Sample sheets: the accepted format and every refusal (each message names file and line)."""
import pytest

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
