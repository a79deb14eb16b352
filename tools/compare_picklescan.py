#!/usr/bin/env python3
"""Compare picklescope's danger verdicts with picklescan's, file by file.

Builds a set of test pickles (nothing is ever loaded: malicious ones are written byte by byte or
with `__reduce__` on objects that are only dumped), runs `picklescan -p FILE` and
`picklescope report --json FILE` on each, and prints the agreement table (Markdown).

    pip install picklescan          # the peer (this script installs nothing)
    cargo build --release
    python3 tools/compare_picklescan.py [--bin target/release/picklescope] [--keep DIR]

Exit status: 0 when every file picklescan flags is flagged by picklescope too, or is one of
the cases listed in EXPLAINED (where picklescan is wrong); 1 otherwise; 2 when picklescan or
the binary is missing.
"""

import argparse
import json
import logging
import operator
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import types
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from decimal import Decimal

# Files picklescan calls infected that picklescope deliberately does not flag, and why.
EXPLAINED = {
    "pipeline_context": "uuid.UUID and a stored operator.attrgetter('id'): picklescan blacklists "
    "all of uuid (for uuid._get_command_stdout) and attrgetter by name; nothing here is called",
    "attrgetter_stored": "attrgetter('id') only built and stored (benign), never called",
    "partial_stored": "functools.partial(len) only built and stored (benign), never called",
    "enum_by_getattr": "getattr(Color, 'RED'): how Python 3.12 pickles some enum members; the "
    "result is stored, never called (benign)",
    "uuid_only": "a uuid.UUID value: picklescan blacklists the whole uuid module (for "
    "uuid._get_command_stdout), picklescope lists uuid's command helpers by name",
    "stdlib_types": "datetime, Decimal, OrderedDict and a uuid.UUID: flagged by picklescan for "
    "uuid.UUID alone (see uuid_only)",
}


def s4(text):
    """SHORT_BINUNICODE."""
    b = text.encode()
    return b"\x8c" + bytes([len(b)]) + b


def stack_global(module, name):
    return s4(module) + s4(name) + b"\x93"


def call4(module, name, arg="x"):
    """Protocol 4: module.name(arg) by STACK_GLOBAL + REDUCE."""
    return b"\x80\x04" + stack_global(module, name) + s4(arg) + b"\x85R."


def call0(module, name, arg="x"):
    """Protocol 0: module.name(arg) by GLOBAL + REDUCE."""
    return f"c{module}\n{name}\n(S'{arg}'\ntR.".encode()


def chain4(module, name, first, second):
    """Protocol 4: module.name(first)(second): the built callable is called."""
    return (
        b"\x80\x04" + stack_global(module, name) + s4(first) + b"\x85R" + s4(second) + b"\x85R."
    )


# (file stem, module, name) of payloads equivalent to picklescan's malicious samples (its test
# suite's expected globals), plus names from the list.
MALICIOUS = [
    ("eval_p0", "__builtin__", "eval"),
    ("eval_p4", "builtins", "eval"),
    ("exec_p0", "__builtin__", "exec"),
    ("compile", "builtins", "compile"),
    ("open", "builtins", "open"),
    ("breakpoint", "builtins", "breakpoint"),
    ("posix_system", "posix", "system"),
    ("os_system", "os", "system"),
    ("nt_system", "nt", "system"),
    ("subprocess_run", "subprocess", "run"),
    ("sys_exit", "sys", "exit"),
    ("httplib", "httplib", "HTTPSConnection"),
    ("http_client", "http.client", "HTTPSConnection"),
    ("requests_get", "requests.api", "get"),
    ("aiohttp", "aiohttp.client", "ClientSession"),
    ("socket", "socket", "create_connection"),
    ("ssl", "ssl", "get_server_certificate"),
    ("runpy", "runpy", "_run_code"),
    ("timeit", "timeit", "timeit"),
    ("numpy_runstring", "numpy.testing._private.utils", "runstring"),
    ("bdb_run", "bdb", "Bdb.run"),
    ("pdb", "pdb", "run"),
    ("venv", "venv", "create"),
    ("pip", "pip", "main"),
    ("ensurepip", "ensurepip", "_run_pip"),
    ("pydoc_pipepager", "pydoc", "pipepager"),
    ("inductor_compile_file", "torch._inductor.codecache", "compile_file"),
    ("torch_load", "torch.serialization", "load"),
    ("torch_bottleneck", "torch.utils.bottleneck.__main__", "run_cprofile"),
    ("torch_collect_env", "torch.utils.collect_env", "run"),
    ("torch_guards", "torch._dynamo.guards", "GuardBuilder.get"),
    ("torch_exec_wrapper", "torch.jit.unsupported_tensor_ops", "execWrapper"),
    ("torch_symbolic", "torch.fx.experimental.symbolic_shapes", "ShapeEnv.evaluate_guards_expression"),
    ("torch_config", "torch.utils._config_module", "ConfigModule.load_config"),
    ("torch_decoder", "torch.utils.data.datapipes.utils.decoder", "basichandlers"),
    ("trace_run", "trace", "Trace.run"),
    ("profile_run", "profile", "Profile.run"),
    ("cprofile_run", "cProfile", "run"),
    ("code_runcode", "code", "InteractiveInterpreter.runcode"),
    ("doctest", "doctest", "debug_script"),
    ("idlelib_run", "idlelib.run", "Executive.runcode"),
    ("lib2to3", "lib2to3.pgen2.grammar", "Grammar.loads"),
    ("distutils_write", "distutils.file_util", "write_file"),
    ("ctypes", "ctypes", "CDLL"),
    ("pty_spawn", "pty", "spawn"),
    ("f2py", "numpy.f2py.crackfortran", "getlincoef"),
    ("pickle_loads", "pickle", "loads"),
    ("cpickle_loads", "_pickle", "loads"),
    ("shutil_rmtree", "shutil", "rmtree"),
    ("webbrowser", "webbrowser", "open"),
    ("asyncio", "asyncio", "run"),
    ("io_fileio", "_io", "FileIO"),
    ("urlopen", "urllib.request", "urlopen"),
    ("filehandler", "logging", "FileHandler"),
    ("resolve_name", "pkgutil", "resolve_name"),
    ("codetype", "types", "CodeType"),
    ("uuid_command", "uuid", "_get_command_stdout"),
    ("osx_support", "_osx_support", "_read_output"),
    ("aix_support", "_aix_support", "_read_cmd_output"),
    ("imaplib", "imaplib", "IMAP4_stream"),
    ("pyrepl_pager", "_pyrepl.pager", "pipe_pager"),
    ("test_support", "test.support.script_helper", "assert_python_ok"),
    ("cloudpickle", "cloudpickle.cloudpickle", "_make_function"),
    ("commands", "commands", "getoutput"),
    # Wider than picklescan: the list.
    ("importlib", "importlib", "import_module"),
    ("smtplib", "smtplib", "SMTP"),
    ("ftplib", "ftplib", "FTP"),
    ("tempfile", "tempfile", "mkstemp"),
    ("glob", "glob", "glob"),
    ("marshal", "marshal", "loads"),
    ("dotted_bypass", "logging", "os.system"),
]


class Evil:
    """Only ever dumped: `__reduce__` names the payload, nothing runs it."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def fake_module(name, **classes):
    """A module that exists only in sys.modules, so pickle can name its classes."""
    mod = types.ModuleType(name)
    for cname, cls in classes.items():
        cls.__module__ = name
        cls.__qualname__ = cname
        setattr(mod, cname, cls)
    sys.modules[name] = mod
    return mod


def samples():
    """(stem, kind, bytes): kind is 'malicious' or 'clean' (what a careful reader would say)."""
    out = []
    for stem, module, name in MALICIOUS:
        out.append((stem, "malicious", call4(module, name)))
    out.append(("eval_global_p0", "malicious", call0("__builtin__", "eval", "1+1")))
    out.append(("posix_system_p0", "malicious", call0("posix", "system", "true")))
    # Gadget chains (what they build is called).
    out.append(("attrgetter_chain", "malicious",
                b"\x80\x04" + stack_global("_operator", "attrgetter") + s4("system") + b"\x85R"
                + stack_global("builtins", "__import__") + s4("os") + b"\x85R\x85R."))
    out.append(("methodcaller_chain", "malicious",
                b"\x80\x04" + stack_global("_operator", "methodcaller") + s4("system") + s4("true")
                + b"\x86R" + stack_global("builtins", "__import__") + s4("os") + b"\x85R\x85R."))
    out.append(("getattr_chain", "malicious",
                b"\x80\x02" + b"c__builtin__\ngetattr\n" + b"c__builtin__\n__import__\n"
                + b"X\x02\x00\x00\x00os\x85RX\x06\x00\x00\x00system\x86RX\x04\x00\x00\x00true\x85R."))
    out.append(("partial_called", "malicious",
                b"\x80\x02cfunctools\npartial\ncposix\nsystem\nX\x04\x00\x00\x00true\x86R)R."))
    out.append(("reduce_in_state", "malicious",
                pickle.dumps({"a": 1, "b": Evil(os.system, ("true",))}, protocol=2)))
    out.append(("nested_pickle", "malicious",
                pickle.dumps(Evil(pickle.loads, (pickle.dumps(Evil(eval, ("1",))),)), protocol=4)))

    # Clean files.
    out.append(("plain_data", "clean", pickle.dumps({"a": [1, 2.5, "x", b"y", None, True]}, protocol=4)))
    out.append(("stdlib_types", "clean", pickle.dumps(
        [datetime(2024, 1, 2, tzinfo=timezone.utc), Decimal("1.5"), OrderedDict(a=1),
         uuid.UUID(int=12345), {1, 2}, frozenset({3}), bytearray(b"z"), complex(1, 2)], protocol=2)))
    out.append(("stdlib_types_p0", "clean", pickle.dumps(
        [datetime(2024, 1, 2), Decimal("1.5"), OrderedDict(a=1)], protocol=0)))
    out.append(("uuid_only", "clean", pickle.dumps(uuid.UUID(int=42), protocol=4)))
    rec = logging.LogRecord("pipeline", 20, "x.py", 1, "Populating ms.fields...", None, None)
    out.append(("logrecord", "clean", pickle.dumps(rec, protocol=4)))
    out.append(("attrgetter_stored", "clean", pickle.dumps({"index_fn": operator.attrgetter("id")}, protocol=4)))
    import functools
    out.append(("partial_stored", "clean", pickle.dumps({"f": functools.partial(len)}, protocol=4)))
    out.append(("enum_by_getattr", "clean",
                b"\x80\x04" + stack_global("builtins", "getattr") + stack_global("enum", "Color")
                + s4("RED") + b"\x86R."))

    # A pipeline-like context: a measurement set whose containers hold attrgetter('id').
    class RetrieveByIndexContainer:
        def __init__(self, items, index_fn=operator.attrgetter("id")):
            self.__items = items
            self.__index_fn = index_fn

    class SpectralWindow:
        def __init__(self, i):
            self.id = i

    class MeasurementSet:
        pass

    class Context:
        pass

    fake_module("pipeline")
    fake_module("pipeline.infrastructure")
    fake_module("pipeline.infrastructure.tablereader", RetrieveByIndexContainer=RetrieveByIndexContainer)
    fake_module("pipeline.domain")
    fake_module("pipeline.domain.spectralwindow", SpectralWindow=SpectralWindow)
    fake_module("pipeline.domain.measurementset", MeasurementSet=MeasurementSet)
    fake_module("pipeline.infrastructure.launcher", Context=Context)
    ms = MeasurementSet()
    ms.spectral_windows = RetrieveByIndexContainer([SpectralWindow(i) for i in range(4)])
    ms.fields = RetrieveByIndexContainer([SpectralWindow(i) for i in range(3)])
    ms.start_time = datetime(2024, 5, 6, 7, 8, 9)
    ctx = Context()
    ctx._uuid = uuid.UUID(int=99)
    ctx.observing_run = [ms]
    ctx.logrecords = [rec]
    out.append(("pipeline_context", "clean", pickle.dumps(ctx, protocol=4)))
    return out


def picklescan_command():
    """picklescan's CLI through this Python when it has the package (`python -m picklescan`
    drops the exit status that says "infected"), else a `picklescan` on PATH."""
    try:
        import picklescan.cli  # noqa: F401

        return [sys.executable, "-c", "import sys; from picklescan.cli import main; sys.exit(main())"]
    except ImportError:
        found = shutil.which("picklescan")
        return [found] if found else None


def picklescan_verdict(cmd, path):
    p = subprocess.run(cmd + ["-p", path], capture_output=True, text=True)
    if p.returncode == 1:
        return "infected"
    if p.returncode == 0:
        return "clean"
    return f"error ({p.returncode})"


def picklescope_verdict(binary, path):
    p = subprocess.run([binary, "report", "--json", path], capture_output=True, text=True)
    if p.returncode != 0:
        return "error", p.stderr.strip().splitlines()[-1:] or [""]
    r = json.loads(p.stdout)
    gs = r.get("globals", [])
    alarm = [f"{g['module']}.{g['name']} ({g['verdict']})" for g in gs if g["verdict"] in ("dangerous", "gadget")]
    benign = [f"{g['module']}.{g['name']} (benign)" for g in gs if g["verdict"] == "benign"]
    unknown = [f"{g['module']}.{g['name']}" for g in gs if g["verdict"] == "unknown"]
    if alarm:
        return "flagged", alarm
    if unknown:
        return "unknown", benign + unknown
    return "clean", benign


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=None, help="picklescope binary (default: target/release/picklescope, then PATH)")
    ap.add_argument("--keep", default=None, help="write the test pickles here and keep them")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = a.bin or os.path.join(root, "target", "release", "picklescope")
    if not os.path.exists(binary):
        binary = shutil.which("picklescope") or ""
    if not binary:
        print("picklescope binary not found: cargo build --release, or --bin PATH", file=sys.stderr)
        return 2
    scan = picklescan_command()
    if not scan:
        print("picklescan not found: pip install picklescan", file=sys.stderr)
        return 2
    out_dir = a.keep or tempfile.mkdtemp(prefix="compare_picklescan_")
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for stem, kind, data in samples():
        path = os.path.join(out_dir, stem + ".pkl")
        with open(path, "wb") as f:
            f.write(data)
        ps = picklescan_verdict(scan, path)
        pv, names = picklescope_verdict(binary, path)
        rows.append((stem, kind, ps, pv, names))
    if not a.keep:
        shutil.rmtree(out_dir, ignore_errors=True)

    print("| file | expected | picklescan | picklescope | agree | picklescope names |")
    print("|---|---|---|---|---|---|")
    missed, unexplained = 0, []
    counts = {"agree": 0, "disagree": 0}
    for stem, kind, ps, pv, names in rows:
        scan_flag = ps == "infected"
        scope_flag = pv == "flagged"
        agree = scan_flag == scope_flag
        counts["agree" if agree else "disagree"] += 1
        note = ""
        if scan_flag and not scope_flag:
            if stem in EXPLAINED:
                note = " (see below)"
            else:
                unexplained.append(stem)
        if kind == "malicious" and not scope_flag:
            missed += 1
        shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
        print(f"| {stem} | {kind} | {ps} | {pv} | {'yes' if agree else 'no' + note} | {shown} |")
    shown = [s for s in EXPLAINED if any(r[0] == s and r[2] == "infected" and r[3] != "flagged" for r in rows)]
    if shown:
        print()
        print("Where picklescan is wrong:")
        for s in shown:
            print(f"- {s}: {EXPLAINED[s]}")
    print()
    print(f"{len(rows)} files: {counts['agree']} agree, {counts['disagree']} disagree; "
          f"malicious files picklescope does not flag: {missed}; "
          f"flagged by picklescan, clean in picklescope without explanation: {len(unexplained)}")
    for s in unexplained:
        print(f"UNEXPLAINED: {s}", file=sys.stderr)
    return 1 if unexplained or missed else 0


if __name__ == "__main__":
    sys.exit(main())
