"""The data files' parse cache."""

import errno
import json
import os

import pytest

from gdb_qemuinit import datafile


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QEMUINIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def cached_doc(path):
    return json.loads(open(datafile.cache_entry(str(path))).read())


def test_a_parse_is_kept_and_used_while_the_file_is_unchanged(tmp_path, cache):
    f = tmp_path / "x.toml"
    f.write_text('a = 1\n')
    assert datafile.read_toml(str(f)) == {"a": 1}
    entry = cached_doc(f)
    assert entry["doc"] == {"a": 1} and entry["source"][0] == str(f)
    # The cache is what is read: a forged entry for the same stamp is believed.
    entry["doc"] = {"a": "from the cache"}
    with open(datafile.cache_entry(str(f)), "w") as out:
        out.write(json.dumps(entry))
    assert datafile.read_toml(str(f)) == {"a": "from the cache"}


def test_files_of_the_same_name_are_kept_apart(tmp_path, cache):
    files = [tmp_path / d / "x.toml" for d in ("a", "b")]
    for i, f in enumerate(files):
        f.parent.mkdir()
        f.write_text(f"a = {i}\n")
        datafile.read_toml(str(f))
    assert [cached_doc(f)["doc"] for f in files] == [{"a": 0}, {"a": 1}]


def test_an_edited_file_is_parsed_again(tmp_path, cache):
    f = tmp_path / "x.toml"
    f.write_text('a = 1\n')
    datafile.read_toml(str(f))
    f.write_text('a = 22\n')
    st = os.stat(f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert datafile.read_toml(str(f)) == {"a": 22}


def test_a_damaged_or_unwritable_cache_only_costs_the_parse(tmp_path, cache, monkeypatch):
    f = tmp_path / "x.toml"
    f.write_text('a = 1\n')
    (cache / "data").mkdir(parents=True)
    with open(datafile.cache_entry(str(f)), "w") as out:
        out.write("{not json")
    assert datafile.read_toml(str(f)) == {"a": 1}
    assert datafile.load_cached(str(tmp_path / "none.json")) == {}
    monkeypatch.setenv("QEMUINIT_CACHE", "/proc/no-cache-here")
    assert datafile.read_toml(str(f)) == {"a": 1}


def test_bad_toml_is_a_data_file_error(tmp_path, cache):
    f = tmp_path / "bad.toml"
    f.write_text("a = \n")
    with pytest.raises(datafile.DataFileError, match="not valid TOML"):
        datafile.read_toml(str(f))
    with pytest.raises(OSError):
        datafile.read_toml(str(tmp_path / "missing.toml"))


class Refused(Exception):
    pass


def test_a_text_file_is_read_or_refused_in_one_line(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("é\n", encoding="utf-8")
    bad.write_bytes(b"\xff\xfe")
    assert datafile.read_text(good, Refused) == "é\n"
    with pytest.raises(Refused) as missing:
        datafile.read_text(tmp_path / "none", Refused)
    assert str(missing.value) == f"cannot read {tmp_path / 'none'}: {os.strerror(errno.ENOENT)}"
    with pytest.raises(Refused) as binary:
        datafile.read_text(bad, Refused, "{path}: not mine")
    assert str(binary.value) == f"{bad}: not mine"
    with pytest.raises(Refused, match="is not UTF-8 text$"):
        datafile.read_text(bad, Refused)
