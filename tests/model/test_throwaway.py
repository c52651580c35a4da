"""Throwaway objects: [throwaway] keys matched against a stack."""

from gdb_qemuinit.model.throwaway import throwaway_functions, throwaway_key


def test_a_key_is_a_function_anywhere_or_a_direct_call():
    keys = {"a -> b": "", "c": ""}
    assert throwaway_key(["b", "a"], keys) == "a -> b"
    assert throwaway_key(["b", "x", "a"], keys) is None      # not a direct call
    assert throwaway_key(["z", "c", "y"], keys) == "c"


def test_the_shipped_keys_name_qemus_nic_model_listing():
    keys = throwaway_functions()
    assert "qemu_get_nic_models" in keys and all(note for note in keys.values())
