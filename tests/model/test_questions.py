"""The questions of questions.toml: resolved by name, a C function or a
typo; a mistyped one names itself."""

import pytest

from gdb_qemuinit.model import questions


def test_a_known_question_a_function_name_and_a_typo():
    assert questions.resolve("pci-config").stops[0] == "pci_config_alloc"
    fn = questions.resolve("vhost_dev_init")
    assert fn.stops == ["vhost_dev_init"] and "never ran" in fn.none
    with pytest.raises(questions.QuestionError, match="did you mean pci-config"):
        questions.resolve("pci-confg")
    assert "pci-config" in questions.listing()


@pytest.mark.parametrize("table, says", [
    ({"summary": "s"}, "stops = .* is missing"),
    ({"stops": ["f"], "answer": "g"}, "answer = 'g' is none of its stops"),
    ({"stops": ["f"], "fields": {"g": {}}}, "fields for g, none of its stops"),
    ({"stops": ["f"], "fields": {"f": {"x": {"read": "x", "as": "int"}}}}, "field x: as"),
    ({"stops": ["f"], "show": [{"txt": "x"}]}, "a line to show"),
    ({"stops": ["f"], "until": "boot"}, "until = 'boot' is no phase"),
    ({"stops": ["f"], "within": 3}, "within"),
])
def test_a_mistyped_question_names_itself_and_what_is_wrong(table, says):
    with pytest.raises(questions.QuestionError, match=f"question q: .*{says}"):
        questions.question_from("q", table)


def test_the_shipped_questions_load_and_pci_config_answers_at_the_allocation():
    shipped = questions.load_questions()
    assert shipped["pci-config"].answer_stop == "pci_config_alloc"
    assert shipped["netdev_init"].answer_stop == "net_client_init1"
    for q in shipped.values():
        assert set(q.fields) <= set(q.stops)
    layout = questions.answer_layout()
    assert layout.keys[0] == "function" and "throwaway" in layout.keys


def test_a_question_named_after_a_cluster_has_its_name_and_the_old_spelling_works(path):
    for cluster in ("vhost_user_negotiation", "vdpa_restart", "netdev_init"):
        assert cluster in path.cluster_ids() and cluster in questions.load_questions()
        old = cluster.replace("_", "-")
        assert questions.resolve(old).name == cluster
        assert path.check_cluster(old) == cluster
    assert questions.resolve("pci_config").name == "pci-config"
    assert questions.resolve("vhost_dev_init").stops == ["vhost_dev_init"]     # a function
