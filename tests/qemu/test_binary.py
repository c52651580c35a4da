"""qemu.check_binary: is it QEMU at all, checked before gdb starts it; the
answer is remembered per binary."""

import json
import shutil
import subprocess

import pytest

from gdb_qemuinit.qemu import binary as qemu


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QEMUINIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_missing_not_executable_and_not_qemu_are_refused(tmp_path, cache):
    with pytest.raises(qemu.QemuError, match="does not exist"):
        qemu.check_binary(tmp_path / "none")
    with pytest.raises(qemu.QemuError, match="not an executable file"):
        qemu.check_binary(tmp_path)
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(qemu.QemuError, match="not an executable file"):
        qemu.check_binary(plain)
    with pytest.raises(qemu.QemuError, match="is not QEMU"):
        qemu.check_binary(shutil.which("true"))


def test_the_version_is_qemus_and_remembered_per_binary(qemu_binary, cache):
    out = subprocess.run([qemu_binary, "--version"], capture_output=True, text=True,
                         timeout=30).stdout
    version = qemu.check_binary(qemu_binary)
    assert version and version in out
    facts = json.loads((cache / "binaries.json").read_text())
    key = qemu.binary_key(qemu_binary)
    assert facts[key]["version"] == version
    # Asked again, the remembered answer is what counts (QEMU is not run).
    facts[key]["version"] = "remembered"
    (cache / "binaries.json").write_text(json.dumps(facts))
    assert qemu.check_binary(qemu_binary) == "remembered"


def test_the_retry_option_read_from_the_binary_is_taken_and_agrees_with_the_data(
        qemu_binary, tmp_path, cache):
    """reconnect_option reads -chardev's parameters from QEMU's QMP; QEMU
    takes what it names, and findings.toml's reconnect_ms_since names the
    same for this binary's version."""
    from gdb_qemuinit.analysis.findings import _reconnect_option
    option = qemu.reconnect_option(qemu_binary, 1)
    assert option in ("reconnect=1", "reconnect-ms=1000")
    name = option.split("=")[0]
    assert _reconnect_option(qemu.check_binary(qemu_binary)).startswith(name + "=")
    # a client nobody listens to: with the option QEMU retries instead of exiting
    proc = subprocess.Popen([qemu_binary, "-machine", "none", "-nodefaults", "-display", "none",
                             "-chardev", f"socket,id=c,path={tmp_path / 'nobody.sock'},{option}"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=2)
    finally:
        proc.kill()
        _, err = proc.communicate()
    assert "Invalid parameter" not in err, err
    with pytest.raises(qemu.QemuError, match="described no command-line options"):
        qemu.command_line_options(shutil.which("true"))
