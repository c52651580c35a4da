"""Findings from the command-line model and a decoded negotiation (pure),
and on a real run: unshared guest memory with testpmd."""

import json

import pytest

from conftest import run_cli
from gdb_qemuinit.analysis import findings
from gdb_qemuinit.model.negotiation import VhostUser
from gdb_qemuinit.model.trace import EXITED
from gdb_qemuinit.qemu.cmdline import QemuCommandLine

VHOST = ["-netdev", "vhost-user,id=net0,chardev=chr0", "-device", "virtio-net-pci,netdev=net0"]


def found(*args, vhost_user=None):
    """The findings, as the trace's JSON has them."""
    cl = QemuCommandLine.parse(["qemu", *args])
    section = VhostUser.from_json(vhost_user) if vhost_user else None
    return [f.to_json() for f in findings.from_command_line(cl)
            + findings.from_negotiation(cl, section)]


def at_exit(argv, line, version=None):
    """The findings of a QEMU that exited with `line` first, as JSON."""
    return [f.to_json() for f in findings.from_exit(QemuCommandLine.parse(argv), EXITED, line,
                                                     version)]


def ids(fs):
    return [f["id"] for f in fs]


def test_memory_shared_or_not():
    sock = ["-chardev", "socket,id=chr0,path=/s,server=on"]
    assert ids(found("-m", "1G", *sock, *VHOST)) == ["memory-not-shared"]
    shared = ["-machine", "q35,memory-backend=m", "-object"]
    assert ids(found(*shared, "memory-backend-memfd,id=m,size=1G", *sock, *VHOST)) == []
    assert ids(found(*shared, "memory-backend-file,id=m,size=1G,mem-path=/dev/shm/x",
                     *sock, *VHOST)) == ["memory-not-shared"]
    assert ids(found(*shared, "memory-backend-file,id=m,size=1G,mem-path=/x,share=on",
                     *sock, *VHOST)) == []
    # what goes wrong, by kind: a file QEMU maps private, or RAM without an fd
    (private_file,) = found(*shared, "memory-backend-memfd,id=m,size=1G,share=off", *sock,
                            *VHOST)
    assert "copy-on-write" in private_file["seen"] and "still starts" in private_file["seen"]
    (no_fd,) = found("-m", "1G", *sock, *VHOST)
    assert "fails at SET_MEM_TABLE" in no_fd["seen"]
    # NUMA nodes' memdevs count too
    assert ids(found("-object", "memory-backend-ram,id=r,size=1G", "-numa", "node,memdev=r",
                     *sock, *VHOST)) == ["memory-not-shared"]
    # no vhost-user netdev: nothing to share with
    assert found("-m", "1G", "-netdev", "user,id=n") == []


def test_socket_options():
    mem = ["-machine", "q35,memory-backend=m", "-object", "memory-backend-memfd,id=m,size=1G"]
    fs = found(*mem, "-chardev", "socket,id=chr0,path=/s,server=on,wait=off,reconnect=2",
               *VHOST)
    assert ids(fs) == ["reconnect-on-server", "server-without-wait"]
    assert all(f["seen"] and f["change"] and f["evidence"]["chardev"] == "chr0" for f in fs)
    # the option as it was given
    (f,) = found(*mem, "-chardev", "socket,id=chr0,path=/s,server=on,reconnect-ms=2000",
                 *VHOST)
    assert f["seen"].startswith("-chardev chr0: reconnect-ms=2000 with server=on")
    assert f["change"].startswith("drop reconnect-ms=,")


def test_queue_pairs_beyond_the_backends_reply():
    mem = ["-machine", "q35,memory-backend=m", "-object", "memory-backend-memfd,id=m,size=1G"]
    args = [*mem, "-chardev", "socket,id=chr0,path=/s,server=on",
            "-netdev", "vhost-user,id=net0,chardev=chr0,queues=4"]
    fs = found(*args, vhost_user={"negotiated": {"backend_queues": 2}})
    assert ids(fs) == ["queues-beyond-backend"]
    assert (fs[0]["evidence"]["asked"], fs[0]["evidence"]["offered"]) == (4, 2)
    assert found(*args, vhost_user={"negotiated": {"backend_queues": 8}}) == []


@pytest.mark.qemu
@pytest.mark.vhost
@pytest.mark.usefixtures("no_leftovers")
def test_unshared_memory_is_a_finding_of_a_real_run(tmp_path, qemu_binary):
    out, sock = tmp_path / "t.json", str(tmp_path / "vu.sock")
    backend = ("dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix={prefix} "
               "--vdev net_vhost0,iface={socket},client=1 -- --no-mlockall "
               "--total-num-mbufs=2048")
    r = run_cli("trace", "--json", str(out), "--backend", backend, "--", qemu_binary,
                "-machine", "q35", "-m", "256M", "-nodefaults", "-display", "none", "-S",
                "-chardev", f"socket,id=chr0,path={sock},server=on,wait=on", *VHOST)
    doc = json.loads(out.read_text())
    assert doc["vhost_user"]["rounds"], r.stdout + r.stderr
    (f,) = [f for f in doc["findings"] if f["id"] == "memory-not-shared"]
    assert f["evidence"]["netdevs"] == ["net0"]
    assert "Findings" in r.stdout and "memory-not-shared" in r.stdout


@pytest.mark.qemu
@pytest.mark.usefixtures("no_leftovers")
def test_reconnect_on_a_listening_socket_is_a_finding_with_qemus_first_line(
        tmp_path, qemu_binary):
    out, sock = tmp_path / "t.json", str(tmp_path / "vu.sock")
    r = run_cli("trace", "--json", str(out), "--no-backend", "--timeout", "10", "--",
                qemu_binary, "-machine", "q35", "-nodefaults", "-display", "none", "-S",
                "-chardev", f"socket,id=chr0,path={sock},server=on,wait=off,reconnect=1",
                *VHOST)
    doc = json.loads(out.read_text())
    (f,) = [f for f in doc["findings"] if f["id"] == "reconnect-on-server"]
    assert f["evidence"]["chardev"] == "chr0"
    if doc["outcome"]["state"] == "exited":      # QEMU 7.2 refuses the option
        assert doc["first_error"]["first_line"] == doc["qemu_stderr"][0]["line"]
    assert "reconnect-on-server" in r.stdout


def test_queues_are_checked_against_each_netdevs_own_backend():
    args = ["-chardev", "socket,id=a,path=/a,server=on", "-chardev", "socket,id=b,path=/b",
            "-netdev", "vhost-user,id=na,chardev=a,queues=4",
            "-netdev", "vhost-user,id=nb,chardev=b,queues=4"]
    # the last round's backend (b) offers 8; a's offers 2: only na asks too many
    vu = {"negotiated": {"backend_queues": 8},
          "chardevs": [{"chardev": "a", "negotiated": {"backend_queues": 2}},
                       {"chardev": "b", "negotiated": {"backend_queues": 8}}]}
    fs = [f for f in found(*args, vhost_user=vu) if f["id"] == "queues-beyond-backend"]
    assert [f["evidence"]["netdev"] for f in fs] == ["na"]


@pytest.mark.parametrize("line, file", [
    ("qemu: could not load PC BIOS 'bios-256k.bin'", "bios-256k.bin"),
    ('qemu-system-x86_64: -device virtio-net-pci,netdev=n0: failed to find romfile '
     '"efi-virtio.rom"', "efi-virtio.rom"),
])
def test_a_missing_firmware_file_suggests_l_with_debians_directories(line, file):
    (f,) = at_exit(["qemu"], line)
    assert f["id"] == "firmware-not-found" and f["evidence"]["file"] == file
    assert "-L /usr/share/seabios -L /usr/lib/ipxe/qemu -L /usr/share/qemu" in f["change"]
    assert at_exit(["qemu"], "other") == []


CLIENT = ["qemu", "-chardev", "socket,id=c,path=/tmp/nobody.sock",
          "-netdev", "vhost-user,id=n,chardev=c", "-device", "virtio-net-pci,netdev=n"]


@pytest.mark.parametrize("version, spelled", [("7.2.22", "reconnect=SECONDS"),
                                              ("10.2.2", "reconnect-ms=MILLISECONDS"),
                                              (None, "(QEMU 9.2 and later; reconnect=SECONDS")])
def test_a_client_that_found_nobody_is_advised_the_retry_this_qemu_spells(version, spelled):
    # QEMU 7.2's and 10.2's words
    line = ("qemu-system-x86_64: -chardev socket,id=c,path=/tmp/nobody.sock: Failed to "
            "connect to '/tmp/nobody.sock': No such file or directory")
    (f,) = at_exit(CLIENT, line, version)
    assert f["id"] == "nothing-listening" and f["evidence"]["socket"] == "/tmp/nobody.sock"
    assert "no reconnect" in f["seen"] and spelled in f["change"]


@pytest.mark.parametrize("given, refused, write", [
    ("reconnect=10", "reconnect", "reconnect-ms=MILLISECONDS"),
    ("reconnect-ms=1000", "reconnect-ms", "reconnect=SECONDS")])
def test_a_retry_option_this_qemu_refuses_is_named_not_taken_for_nobody_listening(
        given, refused, write):
    """The line names the socket's path, but nothing was connected to:
    QEMU refused the option (10.2's and 7.2's words)."""
    argv = [a.replace("nobody.sock", f"nobody.sock,{given}") for a in CLIENT]
    line = (f"qemu-system-x86_64: -chardev socket,id=c,path=/tmp/nobody.sock,{given}: "
            f"Invalid parameter '{refused}'")
    (f,) = at_exit(argv, line, "10.2.2")
    assert f["id"] == "reconnect-renamed" and f["evidence"]["file"] == refused
    assert write in f["change"] and "no connection was tried" in f["seen"]


def test_a_client_with_a_retry_did_not_exit_for_finding_nobody():
    """It logs the failed connect once and tries again (7.2's line): its
    exit had another cause."""
    argv = [a.replace("nobody.sock", "nobody.sock,reconnect=1") for a in CLIENT]
    line = ("qemu-system-x86_64: -netdev vhost-user,id=n,chardev=c: Unable to connect "
            "character device c: Failed to connect to '/tmp/nobody.sock': No such file or "
            "directory")
    assert at_exit(argv, line, "7.2.22") == []
    assert at_exit(CLIENT, line, "7.2.22")


def test_a_refused_parameter_of_another_option_is_not_said_to_be_the_chardevs():
    line = ("qemu-system-x86_64: -netdev socket,id=n,connect=:1234,reconnect=1: "
            "Invalid parameter 'reconnect'")
    (f,) = at_exit(["q"], line, "10.2.2")
    assert f["id"] == "parameter-unknown" and f["evidence"]["file"] == "reconnect"


@pytest.mark.parametrize("version, release", [("10.2.2", (10, 2)), ("7.2.22", (7, 2)),
                                              ("9.1.91", (9, 2)), ("9.1.50", (9, 2)),
                                              ("10.0", (10, 0)), ("x", None)])
def test_a_development_or_candidate_version_counts_as_the_next_release(version, release):
    assert findings._release(version) == release


def test_a_line_that_only_names_the_socket_is_not_a_failed_connect():
    line = "qemu-system-x86_64: -chardev socket,id=c,path=/tmp/nobody.sock: something else"
    assert at_exit(CLIENT, line, "10.2.2") == []


IOMMU_LINE = ("qemu-system-x86_64: -device virtio-net-pci,netdev=net0,iommu_platform=on: "
              "iommu_platform=true is not supported by the device")
WITHOUT_BIT_33, WITH_BIT_33 = "0xd7c66e7cb", "0xf7c66e7cb"     # testpmd's replies


def lacking(device, reply, errors):
    cl = QemuCommandLine.parse(["qemu", "-chardev", "socket,id=chr0,path=/s,server=on",
                                "-netdev", "vhost-user,id=net0,chardev=chr0",
                                "-device", device])
    vu = VhostUser.from_json({"chardevs": [{"chardev": "chr0", "negotiated": {
        "backend_features": {"hex": reply}}}]})
    return [f.to_json() for f in findings.from_backend_features(
        cl, vu, errors, {33: "VIRTIO_F_ACCESS_PLATFORM"})]


def test_a_device_option_refused_for_a_feature_the_backend_did_not_offer():
    (f,) = lacking("virtio-net-pci,netdev=net0,iommu_platform=on,id=nic0", WITHOUT_BIT_33,
                   ["qemu: warning: other", IOMMU_LINE])
    assert f["id"] == "backend-lacks-feature"
    ev = f["evidence"]
    assert (ev["device"], ev["netdev"], ev["chardev"], ev["option"], ev["bit"]) == (
        "nic0", "net0", "chr0", "iommu_platform=on", 33)
    assert ev["feature"] == "VIRTIO_F_ACCESS_PLATFORM" and ev["qemu_line"] == IOMMU_LINE
    assert ev["get_features_reply"] == WITHOUT_BIT_33
    assert "iommu-support=1" in f["change"]
    # the backend offered it (QEMU refused for another reason), QEMU did not
    # refuse, or the option is off: no finding
    assert lacking("virtio-net-pci,netdev=net0,iommu_platform=on", WITH_BIT_33,
                   [IOMMU_LINE]) == []
    assert lacking("virtio-net-pci,netdev=net0,iommu_platform=on", WITHOUT_BIT_33, []) == []
    assert lacking("virtio-net-pci,netdev=net0,iommu_platform=off", WITHOUT_BIT_33,
                   [IOMMU_LINE]) == []
    # JSON -device, as libvirt writes it
    (f,) = lacking(json.dumps({"driver": "virtio-net-pci", "netdev": "net0", "id": "net0nic",
                               "iommu_platform": True}), WITHOUT_BIT_33, [IOMMU_LINE])
    assert f["evidence"]["device"] == "net0nic"


def _iommu_run(tmp_path, qemu_binary, backend_options):
    out, sock = tmp_path / "t.json", str(tmp_path / "vu.sock")
    backend = ("dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix={prefix} "
               "--vdev net_vhost0,iface={socket},client=1" + backend_options
               + " -- --no-mlockall --total-num-mbufs=2048")
    r = run_cli("trace", "--json", str(out), "--backend", backend, "--", qemu_binary,
                "-machine", "q35,memory-backend=m", "-m", "256M", "-nodefaults",
                "-display", "none", "-S",
                "-object", "memory-backend-memfd,id=m,size=256M,share=on",
                "-device", "intel-iommu",
                "-chardev", f"socket,id=chr0,path={sock},server=on,wait=on",
                "-netdev", "vhost-user,id=net0,chardev=chr0",
                "-device", "virtio-net-pci,netdev=net0,iommu_platform=on,disable-legacy=on")
    return r, json.loads(out.read_text())


@pytest.mark.qemu
@pytest.mark.vhost
@pytest.mark.usefixtures("no_leftovers")
def test_iommu_platform_on_a_testpmd_without_iommu_support_is_named(tmp_path, qemu_binary):
    r, doc = _iommu_run(tmp_path, qemu_binary, "")
    assert doc["outcome"]["state"] == "exited", r.stdout + r.stderr
    (f,) = [f for f in doc["findings"] if f["id"] == "backend-lacks-feature"]
    assert f["evidence"]["bit"] == 33 and f["evidence"]["chardev"] == "chr0"
    reply = int(f["evidence"]["get_features_reply"], 16)
    assert reply and not reply >> 33 & 1
    assert doc["first_error"]["first_line"] == f["evidence"]["qemu_line"]
    assert "backend-lacks-feature" in r.stdout
    # the change it names works: the same line, with testpmd offering the bit
    r, doc = _iommu_run(tmp_path, qemu_binary, ",iommu-support=1")
    assert doc["outcome"]["state"] == "init-complete", r.stdout + r.stderr
    assert not [f for f in doc.get("findings", []) if f["id"] == "backend-lacks-feature"]


def test_an_unplug_request_with_no_eject_after_it_is_pending():
    from conftest import stack_hit
    request = stack_hit(3, "main", "qmp_device_del", "acpi_pcihp_device_unplug_request_cb")
    request.reads = {"device": "net1"}
    [pending] = findings.from_pending([stack_hit(1, "main", "a"), request])
    assert pending.ident == "unplug-pending" and pending.evidence["device"] == "net1"
    assert pending.seen.startswith("device_del of net1 is pending")
    eject = stack_hit(4, "main", "acpi_pcihp_eject_slot")
    assert findings.from_pending([request, eject]) == []
    # an eject before the request does not complete it
    assert len(findings.from_pending([stack_hit(2, "main", "acpi_pcihp_eject_slot"),
                                      request])) == 1
