"""The set-up scripts read the release and its archive from the machine
(scripts/apt-sources.sh on sample apt configurations); the QEMU build is
cached under a key of how it is made."""

import os
import subprocess

import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "/usr/share/keyrings/debian-archive-keyring.gpg"


def apt_sources(tmp_path: Path, function: str, *args: str) -> str:
    r = subprocess.run(["bash", "-c", f'. scripts/apt-sources.sh; {function} "$@"', "-", *args],
                       cwd=ROOT, capture_output=True, text=True, check=True,
                       env={"PATH": "/usr/bin:/bin", "APT_ETC": str(tmp_path / "apt"),
                            "OS_RELEASE": str(tmp_path / "os-release")})
    return r.stdout


def machine(tmp_path: Path, os_release: str, sources: dict[str, str]) -> None:
    (tmp_path / "os-release").write_text(os_release)
    (tmp_path / "apt" / "sources.list.d").mkdir(parents=True)
    for name, text in sources.items():
        (tmp_path / "apt" / name).write_text(text)


def stanzas(text: str) -> list[dict[str, str]]:
    return [dict(line.split(": ", 1) for line in block.splitlines())
            for block in text.strip().split("\n\n") if block]


def test_deb822_sources_of_a_debian_13_machine(tmp_path):
    machine(tmp_path, 'NAME="Debian GNU/Linux"\nVERSION_ID="13"\nVERSION_CODENAME=trixie\n', {
        "sources.list.d/debian.sources":
            f"Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: trixie\n"
            f"  trixie-updates\nComponents: main\nSigned-By: {KEY}\n\n"
            f"Types: deb deb-src\nURIs: http://mirror.example/debian-security\n"
            f"Suites: trixie-security\nComponents: main contrib\nSigned-By: {KEY}\n\n"
            f"Types: deb\nURIs: http://elsewhere.example/x\nSuites: trixie\nComponents: main\n"
            f"Enabled: no\n",
        "sources.list.d/other.list.disabled": "deb http://ignored.example/ stable main\n",
    })
    assert apt_sources(tmp_path, "release_codename") == "trixie\n"
    lines = sorted(apt_sources(tmp_path, "deb_sources").splitlines())
    assert lines == [
        f"http://mirror.example/debian\ttrixie\tmain\t{KEY}",
        f"http://mirror.example/debian\ttrixie-updates\tmain\t{KEY}",
        f"http://mirror.example/debian-security\ttrixie-security\tmain contrib\t{KEY}",
    ]
    own = stanzas(apt_sources(tmp_path, "deb_src_stanzas", "trixie"))
    assert {(s["URIs"], s["Suites"]) for s in own} == {
        ("http://mirror.example/debian", "trixie"),
        ("http://mirror.example/debian", "trixie-updates"),
        ("http://mirror.example/debian-security", "trixie-security")}
    assert all(s["Types"] == "deb-src" and s["Signed-By"] == KEY for s in own)
    sid = stanzas(apt_sources(tmp_path, "deb_src_stanzas", "sid"))
    assert [(s["URIs"], s["Suites"]) for s in sid] == [("http://mirror.example/debian", "sid")]


def test_one_line_sources_of_a_debian_12_machine(tmp_path):
    machine(tmp_path, 'VERSION="12 (bookworm)"\n', {
        "sources.list": "# deb http://commented.example/debian bookworm main\n"
                        "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n"
                        "deb-src http://m.example/debian bookworm main\n",
        "sources.list.d/security.list": "deb http://s.example/debian-security "
                                        "bookworm-security main # trailing comment\n",
    })
    assert apt_sources(tmp_path, "release_codename") == "bookworm\n"
    assert sorted(apt_sources(tmp_path, "deb_sources").splitlines()) == [
        "http://m.example/debian\tbookworm\tmain\t/k.gpg",
        "http://s.example/debian-security\tbookworm-security\tmain\t"]
    trixie = stanzas(apt_sources(tmp_path, "deb_src_stanzas", "trixie"))
    assert [(s["URIs"], s["Suites"], s.get("Signed-By")) for s in trixie] == [
        ("http://m.example/debian", "trixie", "/k.gpg"),
        ("http://s.example/debian-security", "trixie-security", None)]


# ---------------------------------------------------------------- the QEMU build's cache key
def build_qemu(script: Path, *args: str) -> str:
    r = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.qemu       # needs the build set-up made
def test_a_changed_build_recipe_is_built_again_not_taken_from_the_cache(tmp_path):
    """The cached build set-up made is reused by the same recipe; a copy of
    the script with one configure argument changed finds no build to reuse
    (and a comment changed is the same recipe)."""
    scripts = ROOT / "scripts"
    assert build_qemu(scripts / "build-qemu.sh", "--dry-run").startswith("reuse ")
    reused = build_qemu(scripts / "build-qemu.sh", "--dry-run").split(" ", 1)[1]
    text = (scripts / "build-qemu.sh").read_text()
    for name, change, expect in (
            ("comment", ("# Only what qemuinit traces", "# Only what we trace"), "reuse"),
            ("argument", ("--disable-xen ", "--disable-xen --disable-bpf "), "build")):
        copy = tmp_path / name
        copy.mkdir()
        (copy / "apt-sources.sh").write_text((scripts / "apt-sources.sh").read_text())
        assert text.count(change[0]) == 1
        (copy / "build-qemu.sh").write_text(text.replace(*change))
        verb, where = build_qemu(copy / "build-qemu.sh", "--dry-run").split(" ", 1)
        assert verb == expect, name
        assert (where == reused) == (expect == "reuse")
        assert os.path.dirname(where) == os.path.dirname(reused)    # same source version
