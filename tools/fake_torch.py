#!/usr/bin/env python3
"""Writes torch-less stand-ins of the files `torch.save` and `numpy.savez` write, with the
standard library only (for tests of picklescope's zip containers).

  fake_torch.py checkpoint OUT.pt [--legacy] [--protocol N]
      a state_dict of tensors as a zip checkpoint (`<name>/data.pkl`, `<name>/data/<key>`,
      `<name>/version`), the storages of different sizes, one shared by two tensors;
      with --legacy, the pre-1.6 layout instead: pickles back to back, then raw storages.
  fake_torch.py npz OUT.npz
      a .npz with a float64 (3, 4) array, an int32 (10,) Fortran-order array and an object
      array (whose data is a pickle of a list).
  fake_torch.py nested OUT.pkl
      a pickle whose `blob` attributes hold pickles in bytes: plain, bz2 and zlib.
"""

import bz2
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile
import zlib


def _module(name):
    m = sys.modules.get(name) or types.ModuleType(name)
    sys.modules[name] = m
    return m


def _stub_torch():
    torch = _module("torch")
    utils = _module("torch._utils")
    torch._utils = utils
    if hasattr(utils, "_rebuild_tensor_v2"):
        return torch, utils

    def _rebuild_tensor_v2(*a):
        raise RuntimeError("stub")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for n in ("FloatStorage", "HalfStorage"):
        if hasattr(torch, n):
            continue
        cls = type(n, (), {"__module__": "torch"})
        setattr(torch, n, cls)
    return torch, utils


class Storage:
    def __init__(self, key, kind, numel, itemsize):
        self.key, self.kind, self.numel, self.itemsize = key, kind, numel, itemsize

    def raw(self):
        return bytes(range(256)) * (self.numel * self.itemsize // 256) + bytes(
            self.numel * self.itemsize % 256
        )


class Tensor:
    def __init__(self, storage, shape, offset=0):
        self.storage, self.shape, self.offset = storage, shape, offset

    def __reduce__(self):
        _, utils = _stub_torch()
        stride = []
        acc = 1
        for d in reversed(self.shape):
            stride.insert(0, acc)
            acc *= d
        return (
            utils._rebuild_tensor_v2,
            (self.storage, self.offset, tuple(self.shape), tuple(stride), False, collections.OrderedDict()),
        )


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def state_dict():
    torch, _ = _stub_torch()
    big = Storage("0", torch.FloatStorage, 4096, 4)  # 16 KiB
    small = Storage("1", torch.FloatStorage, 64, 4)  # 256 B
    half = Storage("2", torch.HalfStorage, 1000, 2)  # 2000 B
    sd = collections.OrderedDict()
    sd["encoder.weight"] = Tensor(big, [64, 64])
    sd["encoder.bias"] = Tensor(small, [64])
    sd["decoder.weight"] = Tensor(half, [10, 100])
    sd["encoder.weight_view"] = Tensor(big, [32, 64], offset=2048)  # shares storage 0
    return sd, [big, small, half]


def checkpoint(out, legacy=False, protocol=2):
    sd, storages = state_dict()
    buf = io.BytesIO()
    _Pickler(buf, protocol=protocol).dump(sd)
    name = os.path.splitext(os.path.basename(out))[0]
    if legacy:
        with open(out, "wb") as f:
            for obj in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
                pickle.dump(obj, f, protocol=protocol)
            f.write(buf.getvalue())
            pickle.dump([s.key for s in storages], f, protocol=protocol)
            for s in storages:
                f.write(struct.pack("<q", s.numel))
                f.write(s.raw())
        return
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{name}/data.pkl", buf.getvalue())
        for s in storages:
            z.writestr(f"{name}/data/{s.key}", s.raw())
        z.writestr(f"{name}/version", "3\n")


def _npy(descr, shape, fortran, data):
    header = "{'descr': %r, 'fortran_order': %s, 'shape': %r, }" % (descr, fortran, tuple(shape))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def npz(out):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.npy", _npy("<f8", (3, 4), False, struct.pack("<12d", *range(12))))
        z.writestr("b.npy", _npy("<i4", (10,), True, struct.pack("<10i", *range(10))))
        z.writestr("objs.npy", _npy("|O", (3,), False, pickle.dumps(["x", {"k": 1}, 2.5], protocol=3)))


class Holder:
    pass


def nested(out):
    inner = {"name": "inner", "values": list(range(50)), "tag": "x" * 40}
    plain = pickle.dumps(inner, protocol=4)
    h = Holder()
    h.plain_blob = plain
    h.bz2_blob = bz2.compress(plain)
    h.zlib_blob = zlib.compress(plain)
    h.not_a_pickle = b"\x00" * 100
    Holder.__module__ = "fakepkg.single"
    Holder.__qualname__ = "CompressedObj"
    sys.modules.setdefault("fakepkg", _module("fakepkg"))
    mod = _module("fakepkg.single")
    mod.CompressedObj = Holder
    with open(out, "wb") as f:
        pickle.dump(h, f, protocol=4)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    what, out = argv[0], argv[1]
    if what == "checkpoint":
        proto = int(argv[argv.index("--protocol") + 1]) if "--protocol" in argv else 2
        checkpoint(out, legacy="--legacy" in argv, protocol=proto)
    elif what == "npz":
        npz(out)
    elif what == "nested":
        nested(out)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
