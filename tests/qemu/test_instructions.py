"""qemu/instructions: a function's ways through, from its disassembly.  The
base case is vhost_user_write as gdb disassembles the project's QEMU 7.2
build; each variant changes one instruction the way an optimised build,
another release or another architecture could."""

from pathlib import Path

import pytest

from gdb_qemuinit.qemu.instructions import (calls_to, keeps_frame_pointer, return_instructions,
                                            unoptimised, write_points)

X86 = "i386:x86-64"
WRITER = "qemu_chr_fe_write_all"
LISTING = Path(__file__).parent.parent / "data" / "disassembly" / "vhost_user_write-qemu-7.2.txt"


def listing() -> list[dict]:
    out = []
    for line in LISTING.read_text().splitlines():
        if line and not line.startswith("#"):
            addr, asm = line.split("\t", 1)
            out.append({"addr": int(addr, 16), "asm": asm})
    return out


def at(instructions, addr):
    return next(i for i, ins in enumerate(instructions) if ins["addr"] == addr)


def with_asm(addr: int, asm: str) -> list[dict]:
    ins = listing()
    ins[at(ins, addr)] = {"addr": addr, "asm": asm}
    return ins


def test_vhost_user_writes_ways_are_its_write_call_and_its_two_early_returns():
    points = write_points(listing(), WRITER, X86)
    # the call, `return 0` of the per-device skip, `return -EINVAL`
    assert points == (0x6F7142, (0x6F70F7, 0x6F712F))
    assert calls_to(listing(), WRITER) == [0x6F7142]
    assert return_instructions(listing()) == [0x6F71A8]


@pytest.mark.parametrize("addr, asm, why", [
    (0x6F7114, "jns    0x6f71a7 <vhost_user_write+297>",
     "a conditional jump out of the code before the call: taken or not is not known"),
    (0x6F70F7, "jmp    *%rax", "an indirect jump"),
    (0x6F70F7, "notrack jmp *%rax", "an indirect jump behind a prefix"),
    (0x6F70F2, "ret", "a return before the call"),
    (0x6F70F2, "bnd ret", "a return behind a prefix"),
    (0x6F70F2, "loop   0x6f7000 <x>", "a branch not spelled j*"),
    (0x6F7183, "jmp    0x6f7142 <vhost_user_write+196>",
     "a jump back to the call: the message would be recorded twice"),
    (0x6F7183, "jmp    0x6f7131 <vhost_user_write+179>",
     "a jump back to the argument set-up before the call"),
    (0x6F7150, "je     0x6f70c0 <vhost_user_write+66>", "a jump back before the call"),
    (0x6F712F, "jmp    0x6f0000 <elsewhere>", "a jump before the function"),
    (0x6F712F, f"jmp    0x8fc7e5 <{WRITER}>", "a tail call of the writer"),
    (0x6F712F, "jmp    0x6f9000 <vhost_user_write.cold>", "a jump past the function's end"),
    (0x6F70F2, "retq", "a return before the call, 64-bit spelling"),
    (0x6F70F2, "ret    $0x8", "a return popping its arguments"),
    (0x6F70F2, "repz retq", "a return behind a rep prefix"),
    (0x6F7114, "jrcxz  0x6f71a7 <vhost_user_write+297>", "a conditional jump on %rcx out"),
    (0x6F7114, "loopne 0x6f71a7 <vhost_user_write+297>", "a loop out"),
    (0x6F70F7, "ljmp   *(%rax)", "a far jump"),
    (0x6F70F2, "lret", "a far return"),
    (0x6F70F2, "iretq", "an interrupt return"),
    (0x6F7173, f"call   0x8fc7e5 <{WRITER}>", "a second call of the writer"),
    (0x6F7142, "call   0x8fc7e5 <qemu_chr_fe_write>", "no call of the writer"),
])
def test_ways_not_all_shown_give_none(addr, asm, why):
    assert write_points(with_asm(addr, asm), WRITER, X86) is None, why


def test_a_jump_to_the_call_from_before_it_is_no_way_out():
    # the fds check's `jns` over the error report, aimed at the call itself
    ins = with_asm(0x6F7114, "jns    0x6f7142 <vhost_user_write+196>")
    assert write_points(ins, WRITER, X86) == (0x6F7142, (0x6F70F7, 0x6F712F))


def test_the_64_bit_spelling_of_a_leaving_jump_is_a_way_out():
    ins = with_asm(0x6F70F7, "jmpq   0x6f71a7 <vhost_user_write+297>")
    assert write_points(ins, WRITER, X86) == (0x6F7142, (0x6F70F7, 0x6F712F))


def test_a_function_without_early_returns_has_the_call_only():
    ins = with_asm(0x6F70F7, "nop")
    ins = [i if i["addr"] != 0x6F712F else {"addr": i["addr"], "asm": "nop"} for i in ins]
    assert write_points(ins, WRITER, X86) == (0x6F7142, ())


def test_the_plt_spelling_of_the_writer_is_its_call():
    assert write_points(with_asm(0x6F7142, f"call   0x2cc000 <{WRITER}@plt>"), WRITER,
                        X86).call == 0x6F7142


def test_another_architecture_is_not_read():
    """aarch64's branches are not spelled j*: its ways are not read (the
    recorder then plants the entry and the call site)."""
    assert write_points(listing(), WRITER, "aarch64") is None
    assert calls_to([{"addr": 4, "asm": f"bl\t0x10 <{WRITER}>"}], WRITER) == [4]


@pytest.mark.parametrize("first, arch, keeps", [
    ("554889e5" "4883ec40", X86, True),             # push %rbp; mov %rsp,%rbp (QEMU 7.2)
    ("f30f1efa" "554889e5", X86, True),             # endbr64 first (a CET build)
    ("4157" "4156" "4155", X86, False),             # push %r15...: an optimised function
    ("55" "4889e5", "aarch64", False),              # another architecture
    ("f30f1efa" "4157", X86, False),
])
def test_a_function_keeps_its_frame_pointer_when_it_begins_by_setting_it(first, arch, keeps):
    assert keeps_frame_pointer(bytes.fromhex(first), arch) is keeps


@pytest.mark.parametrize("producer, unopt", [
    ("GNU C11 12.2.0 -m64 -mcx16 -mtune=generic -march=x86-64 -g -O0 -std=gnu11 "
     "-fno-strict-aliasing -fstack-protector-strong -fPIE", True),     # the project's 7.2
    ("GNU C11 12.2.0 -mtune=generic -g -O2 -fstack-protector-strong", False),  # a distro's
    ("GNU C11 12.2.0 -g -O0 -O2", False),        # the last -O wins
    ("GNU C11 12.2.0 -O2 -g -O0", True),
    ("GNU C11 12.2.0 -g -Og", False),
    ("clang version 16.0.6", False),            # no switches recorded: not assumed
    ("", False),
    (None, False),
])
def test_unoptimised_is_read_from_the_producers_last_o_switch(producer, unopt):
    assert unoptimised(producer) is unopt
