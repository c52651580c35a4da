"""The device-start section as text."""

from conftest import ROOT
from gdb_qemuinit.analysis import annotate
from gdb_qemuinit.model import phases
from gdb_qemuinit.model.devicestart import starts_of
from gdb_qemuinit.model.trace import load
from gdb_qemuinit.render import devicestart, text


def analysed(name):
    t = load(str(ROOT / "tests" / "data" / "traces" / name))
    return annotate.annotate(phases.of_trace(t.qemu).path(), t)


def test_a_started_nic_in_a_line_and_in_the_report():
    t = analysed("device-start-qemu-7.2.json")
    (line,) = devicestart.brief_lines(starts_of(t))
    assert "net0" in line and "started at" in line and "returned 0" in line
    report = text.render(phases.of_trace(t.qemu).path(), t)
    section = report.split("Device start", 1)[1]
    assert "the guest acked: 0x100000020 (VIRTIO_NET_F_MAC, VIRTIO_F_VERSION_1)" in section
    assert "SET_MEM_TABLE" in section and "offered by the backend, not taken" in section
    # the start's messages with their payloads, in the negotiation
    assert "guest 0x0 size 256 MiB at QEMU 0x" in report and " fd " in report
    assert "0xf (ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK)" in report
    assert "[vhost_dev_start]" in report and "[guest_status_write]" in report


def test_a_failed_start_says_where_and_what_qemu_said():
    t = analysed("device-start-unshared-qemu-10.2.json")
    brief = text.brief(t)
    assert "start FAILED" in brief and "returned -22 (EINVAL" in brief
    assert "First error" in brief and "vhost_user_fill_set_mem_table_msg" in brief
    assert "memory-not-shared" in brief and "observed: the start of net0 failed" in brief


def test_the_html_report_has_the_device_start_and_the_values_check():
    from gdb_qemuinit.render import html
    t = analysed("device-start-qemu-7.2.json")
    page = html.render(phases.of_trace(t.qemu).path(), t).decode()
    assert 'id="device-start"' in page and "started at" in page
    assert "payload values it logged agree" in page
