"""Hand-made hits of a vhost-user negotiation, for the pure tests."""



from gdb_qemuinit.model import initpath
from gdb_qemuinit.model.spec import load_spec
from gdb_qemuinit.model.trace import Frame, Hit, Outcome, Trace


SPEC = load_spec()


PATH = initpath.load()


WAIT = ["qemu_chr_fe_wait_connected", "net_vhost_user_init", "qemu_init", "main"]


INIT = ["vhost_dev_init", "vhost_net_init", "vhost_user_start", "net_vhost_user_event",
        "chr_be_event", "qemu_chr_be_event", "qemu_chr_fe_set_handlers_full",
        "net_vhost_user_init", "qemu_init", "main"]


def hit(seq, stack, reads=None, t=None):
    return Hit(seq=seq, function=stack[0], thread=1, reads=reads, t=t if t is not None else seq,
               frames=[Frame(function=f, file="x.c", line=1) for f in stack])


def sent(seq, request, under, u64=0):
    return hit(seq, ["vhost_user_write", "vhost_user_get_u64", under] + INIT,
               {"request": request, "u64": u64})


def reply(seq, request, u64, ret=0):
    return hit(seq, ["vhost_user_read", "vhost_user_get_u64", "vhost_user_backend_init"] + INIT,
               {"request": request, "u64": u64, "ret": ret})


def negotiation(start, first_reply_ret=0):
    """GET_FEATURES (step 1) ... SET_VRING_CALL (step 4), hits numbered from start."""
    return [hit(start, INIT),
            sent(start + 1, 1, "vhost_user_backend_init"),
            reply(start + 2, 1, (1 << 30) | (1 << 32) | 1, ret=first_reply_ret),
            sent(start + 3, 16, "vhost_user_backend_init", u64=0b1001),
            sent(start + 4, 3, "vhost_user_set_owner"),
            sent(start + 5, 13, "vhost_virtqueue_init", u64=0x100)]


def make(hits, state="init-complete", stderr=None, frames=None, reads=None, argv=()):
    t = Trace(qemu={"binary": "q", "version": "7.2.22", "argv": list(argv)},
              outcome=Outcome(state=state, frames=frames, reads=reads), hits=hits)
    if stderr:
        t.extra["qemu_stderr"] = stderr
    return t


def on(chardev, vq_index, h, netdev=None):
    """A hit read on the vhost_dev of `chardev`'s queue pair `vq_index`."""
    h.reads = dict(h.reads or {}, chardev=chardev, vq_index=vq_index,
                   **({"netdev": netdev} if netdev else {}))
    return h


def decoded(trace):
    """The "vhost_user" section of `trace`, as the trace's JSON has it (None:
    there is none)."""
    from gdb_qemuinit.analysis import vhostuser
    doc = vhostuser.section(PATH, trace)
    return doc.to_json() if doc else None


def backend_log(requests, protocol_features):
    """A backend's log of one connection, as parse_backend_log reads it."""
    return {"requests": requests, "protocol_features": protocol_features,
            "connections": [{"requests": requests, "protocol_features": protocol_features}]}
