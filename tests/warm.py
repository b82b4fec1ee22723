"""Warm commands for the build-state tests: ``snakemake`` and ``reportgen`` run as forks of a warm interpreter.

A build of the state machine's dataset (tests/test_state_machine.py) is mostly fixed costs: four Python processes
(Snakemake, then its ``prepare``, ``render`` and ``index`` jobs) that each start an interpreter and import
Snakemake, pandas, pandera or WeasyPrint before doing a fraction of a second of work. Here a *zygote* process
imports all of that once; every command then runs as a fork of it:

- ``commands(folder)`` writes two executables, ``snakemake`` and ``reportgen``, into ``folder``. Each is a small
  client (stdlib only, started with ``python -S -I``) that sends its arguments, working folder, environment and
  standard streams (the file descriptors themselves) to the zygote, which forks; the fork sets up that folder,
  environment and streams, runs ``snakemake.cli.main`` or ``reportgen.cli.main`` (the very functions the real
  executables call) and ends as a process ends (non-daemon threads joined, ``atexit`` handlers run). The client
  exits with the fork's exit status, or dies of the signal that killed it.
- The workflow finds the client ``reportgen`` first on ``PATH`` (the tests put ``folder`` first), so the jobs of a
  build run as forks too: the same Snakefile, the same rules, the same shell commands, the same code.

Signals follow the processes as they would without the zygote. Each fork is the leader of its own process group;
the client passes on what it receives: SIGINT (Ctrl-C, sent to a whole process group) to the fork's group, SIGTERM,
SIGHUP and SIGQUIT (``kill``, sent to one process) to the fork only. A client killed outright (SIGKILL) closes its
connection, and the zygote then kills the fork's group with SIGKILL: a hard kill of a build cascades, within
milliseconds, to every process it started.

What differs from separate executables: the modules are imported before the command's environment is set (nothing
reportgen or Snakemake reads at import time depends on it; ``tempfile``'s cached folder is reset), and forks of one
zygote share its hash seed (the tests use one zygote for clean builds and another for the machine's commands, so
that each comparison is between two seeds).
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

#: What the zygote imports before serving (every module a command would import at its start).
PRELOAD = (
    "snakemake.cli", "snakemake.api", "snakemake.workflow", "snakemake.executors.local", "snakemake.shell",
    "snakemake.dag", "snakemake.scheduler", "snakemake.persistence", "snakemake.logging",
    "reportgen.cli", "reportgen.build", "reportgen.brief", "reportgen.worker", "reportgen.validate",
    "reportgen.aggregate", "reportgen.publish", "reportgen.site", "reportgen.changes", "reportgen.export",
    "reportgen.summary", "reportgen.review", "reportgen.context", "reportgen.charts", "reportgen.pdf",
    "pandas", "pandera", "jsonschema", "weasyprint", "yaml",
)
SOCKET_ENV = "REPORTGEN_WARM_SOCKET"

CLIENT = r'''#!{python} -SI
# A warm command (tests/warm.py): runs `{name} ARGS` as a fork of the zygote listening on ${socket_env}
# (by default, the zygote that wrote this file).
import json, os, signal, socket, struct, sys

state = {{"pid": None, "pending": []}}


def forward(signum, frame):
    pid = state["pid"]
    if pid is None:
        state["pending"].append(signum)
        return
    try:
        if signum == signal.SIGINT:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(sig, forward)
fds = []
for fd in (0, 1, 2):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        fds.append(os.open(os.devnull, os.O_RDWR))
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(os.environ.get("{socket_env}") or "{socket}")
message = json.dumps({{"op": "run", "argv": ["{name}"] + sys.argv[1:], "cwd": os.getcwd(),
                       "env": dict(os.environ)}}).encode()
socket.send_fds(sock, [struct.pack("!I", len(message))], fds)
sock.sendall(message)
replies = sock.makefile("rb")
line = replies.readline()
if not line:
    sys.stderr.write("warm {name}: the zygote did not start the command\n")
    sys.exit(1)
state["pid"] = json.loads(line)["pid"]
for sig in state["pending"]:
    forward(sig, None)
line = replies.readline()
if not line:
    sys.stderr.write("warm {name}: the zygote ended before the command\n")
    sys.exit(1)
result = json.loads(line)
if result.get("signal"):
    signal.signal(result["signal"], signal.SIG_DFL)
    os.kill(os.getpid(), result["signal"])
sys.exit(result["code"])
'''


# --------------------------------------------------------------------------------------------------------------
# The fork: one command
# --------------------------------------------------------------------------------------------------------------

def _die_with_zygote() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _command(argv: list[str]) -> int:
    name = os.path.basename(argv[0])
    if name == "snakemake":
        from snakemake.cli import main

        main(argv[1:])  # exits
        return 0
    if name == "reportgen":
        from reportgen.cli import main

        return main(argv[1:])
    print(f"warm: unknown command {name!r}", file=sys.stderr)
    return 127


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _child(request: dict, fds: list[int], close: list) -> None:  # pragma: no cover - runs in the fork
    """Become the command: its process group, streams, folder, environment; run it; end as a process ends."""
    code = 1
    try:
        os.setpgid(0, 0)
        _die_with_zygote()
        for s in close:
            s.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None
        sys.argv = list(request["argv"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        try:
            code = _exit_code(_command(request["argv"]))
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except KeyboardInterrupt:
            # As CPython does: the traceback, then death by SIGINT (so the caller sees an interrupted process).
            traceback.print_exc()
            _shutdown()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        except BaseException:  # noqa: BLE001 - as an uncaught exception ends a process
            traceback.print_exc()
            code = 1
        _shutdown()
    finally:
        os._exit(code)


def _shutdown() -> None:
    """What the interpreter does when a program ends: join non-daemon threads, run atexit handlers, flush."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
    except BaseException:  # noqa: BLE001
        pass
    try:
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------------------------------------------
# The zygote
# --------------------------------------------------------------------------------------------------------------

def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    return data


def _reply(conn: socket.socket, obj: dict) -> None:
    try:
        conn.sendall((json.dumps(obj) + "\n").encode())
    except OSError:
        pass


def zygote(path: str) -> None:  # pragma: no cover - a process of its own
    """Import everything, then fork a command for each client of the socket at ``path`` (single-threaded)."""
    import importlib

    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p != here]  # as `python -m snakemake`: the tests' folder is not a package
    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a module a command imports later, paid then
            pass
    try:  # Snakemake's plugin registries, filled on first use
        from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

        ExecutorPluginRegistry().get_plugin("local")
    except Exception:  # noqa: BLE001
        pass
    if threading.active_count() != 1:
        print(f"warm: {threading.active_count()} threads after the imports: forking is not safe", flush=True)
        sys.exit(3)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    running: dict[int, socket.socket] = {}  # pid → its client's connection
    by_conn: dict[socket.socket, int] = {}
    idle_waiters: list[socket.socket] = []
    print("ready", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getppid()
    while True:
        if os.getppid() != parent:
            # The test process is gone without stopping us (killed, or a script that never called close()):
            # end with it, rather than poll for ever and leave our folder in the temporary directory.
            for pid in running:
                _kill_group(pid)
            import shutil

            shutil.rmtree(Path(path).parent, ignore_errors=True)
            return
        readable, _, _ = select.select([listener, *by_conn], [], [], 0.01)
        for sock in readable:
            if sock is listener:
                conn, _ = listener.accept()
                try:
                    header, fds, _, _ = socket.recv_fds(conn, 4, 3)
                    header += _recv_exact(conn, 4 - len(header))
                    request = json.loads(_recv_exact(conn, struct.unpack("!I", header)[0]))
                except (OSError, ValueError, ConnectionError):
                    conn.close()
                    continue
                op = request.get("op")
                if op == "run":
                    pid = os.fork()
                    if pid == 0:
                        _child(request, fds, [listener, conn, *by_conn, *idle_waiters])
                    for fd in fds:
                        os.close(fd)
                    try:
                        os.setpgid(pid, pid)
                    except OSError:
                        pass
                    _reply(conn, {"pid": pid})
                    running[pid] = conn
                    by_conn[conn] = pid
                elif op == "idle":
                    idle_waiters.append(conn)
                elif op == "killall":
                    for pid in running:
                        _kill_group(pid)
                    _reply(conn, {"killed": len(running)})
                    conn.close()
                elif op == "stop":
                    for pid in running:
                        _kill_group(pid)
                    _reply(conn, {"stopped": True})
                    return
                else:
                    conn.close()
            else:  # a client's connection: EOF means the client was killed
                try:
                    gone = not sock.recv(1)
                except OSError:
                    gone = True
                if gone:
                    pid = by_conn.pop(sock)
                    _kill_group(pid)
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = running.pop(pid, None)
            if conn is None:
                continue
            by_conn.pop(conn, None)
            if os.WIFSIGNALED(status):
                _reply(conn, {"code": 128 + os.WTERMSIG(status), "signal": os.WTERMSIG(status)})
            else:
                _reply(conn, {"code": os.WEXITSTATUS(status)})
            conn.close()
        if not running and idle_waiters:
            for conn in idle_waiters:
                _reply(conn, {"idle": True})
                conn.close()
            idle_waiters.clear()


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --------------------------------------------------------------------------------------------------------------
# The tests' side
# --------------------------------------------------------------------------------------------------------------

class Zygote:
    """A zygote process and the folder of its two commands (``bin/snakemake``, ``bin/reportgen``)."""

    def __init__(self, env: dict[str, str], *, root: Path | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="reportgen-warm-"))
        self.socket = self.root / "zygote.sock"
        self.bin = self.root / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        for name in ("snakemake", "reportgen"):
            p = self.bin / name
            p.write_text(CLIENT.format(python=sys.executable, name=name, socket_env=SOCKET_ENV,
                                       socket=self.socket), encoding="utf-8")
            p.chmod(0o755)
        self.env = {**env, SOCKET_ENV: str(self.socket),
                    "PATH": os.pathsep.join([str(self.bin), env.get("PATH", "")])}
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(self.socket)],
                                     env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.started_in: float | None = None

    def ready(self) -> Zygote:
        """Wait until the zygote serves (its imports done); return it."""
        if self.started_in is None:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline().strip()
            if line != "ready":
                self.proc.kill()
                raise RuntimeError(f"the warm zygote did not start: {line!r}")
            self.started_in = time.perf_counter() - self.t0
        return self

    def command(self, name: str) -> str:
        self.ready()
        return str(self.bin / name)

    def _ask(self, op: str, timeout: float | None = None) -> dict:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(timeout)
        conn.connect(str(self.socket))
        message = json.dumps({"op": op}).encode()
        socket.send_fds(conn, [struct.pack("!I", len(message))], [])
        conn.sendall(message)
        line = conn.makefile("rb").readline()
        conn.close()
        return json.loads(line) if line else {}

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until no command of this zygote runs (after a build was killed, its processes are gone)."""
        self._ask("idle", timeout)

    def kill_all(self) -> None:
        """SIGKILL every running command's process group (a power cut)."""
        self._ask("killall", 30)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.started_in is None:
                    self.proc.kill()  # still importing: nothing of it runs
                else:
                    self._ask("stop", 30)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    zygote(sys.argv[1])
