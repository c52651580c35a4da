"""What went wrong, as text: findings and the first error of a cascade."""

from gdb_qemuinit.render.findings import format_findings, format_first_error


def test_each_finding_says_what_was_seen_and_what_to_change():
    found = [{"id": "a", "seen": "seen a", "change": "change a"},
             {"id": "b", "seen": "seen b", "change": "change b"}]
    assert format_findings(found).splitlines() == [
        "Findings", "  a: seen a", "    change: change a", "  b: seen b", "    change: change b"]
    assert format_findings([]) == ""


def test_the_first_error_comes_before_its_consequences():
    doc = {"round": 2, "connection": 1, "injected": "cut after GET_FEATURES",
           "request": {"name": "GET_FEATURES", "request": 1, "step": 1, "sent_by": "f"},
           "call": "vhost_user_read -> -1", "first_line": "first", "consequences": ["c1", "c2"],
           "chain": "main -> f", "then": "QEMU went on"}
    assert format_first_error(doc).splitlines() == [
        "First error", "  fault injected: cut after GET_FEATURES",
        "  round 2 (connection 1), request in flight: GET_FEATURES (1), step 1, sent by f",
        "  failed: vhost_user_read -> -1", "  QEMU said first: first",
        "    consequence: c1", "    consequence: c2", "  sent from: main -> f", "  QEMU went on"]
    exited = {"request": None, "stage": "net_init_clients", "first_line": "x"}
    assert format_first_error(exited).splitlines() == [
        "First error", "  last documented stage: net_init_clients", "  QEMU said first: x"]
    assert format_first_error(None) == ""
