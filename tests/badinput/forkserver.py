"""Run many ``agora`` invocations quickly: import the CLI once, then fork one child per invocation.

Started by ``test_badinput.py`` as ``python tests/badinput/forkserver.py PARALLEL TIMEOUT``.
Reads one JSON object per line on stdin (``{"id", "argv", "cwd", "env"}``) and
writes one per line on stdout (``{"id", "status", "seconds", "timed_out",
"stdout", "stderr"}``). Each child is a fresh process from the CLI's point of
view: its own cwd, environment, stdin (``/dev/null``), stdout and stderr
(files), and it runs ``simulator.cli.main()`` with ``sys.argv`` set, exactly
as the ``agora`` console script does. Importing Agora (every world loads
mesa, scipy and pandas) takes seconds, which would otherwise be paid by each
of hundreds of cases; a child still over ``TIMEOUT`` seconds is killed with its
whole process group (a solve's worker included).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, when run as a script

import simulator.cli as cli  # noqa: E402
from agents import registry  # noqa: E402
from simulator import plots, run, solve, sweep, worlds  # noqa: E402,F401  (imported once, shared by every child)
from simulator.worlds.marketplace import data as market_data  # noqa: E402,F401

worlds.load_all()
registry.load_all()
gc.freeze()  # keep the imported objects out of the children's collections: fewer copy-on-write pages per fork

MAX_OUTPUT = 20_000


def child(case: dict, out_path: str, err_path: str) -> None:
    """In the forked child: become an ``agora`` process and exit with its status."""
    code = 1
    try:
        os.setpgid(0, 0)
        os.chdir(case["cwd"])
        os.environ.update(case.get("env", {}))
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        sys.argv = ["agora", *case["argv"]]
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            if isinstance(exc.code, str):  # as the interpreter does for sys.exit("message")
                print(exc.code, file=sys.stderr)
                code = 1
            else:
                code = exc.code or 0
    except BaseException:  # a traceback escaping main(): print it as Python would, so the test sees it
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read(MAX_OUTPUT)


def main() -> None:
    parallel, timeout = int(sys.argv[1]), float(sys.argv[2])
    cases = [json.loads(line) for line in sys.stdin if line.strip()]
    scratch = tempfile.mkdtemp(prefix="agora-forkserver-")
    running: dict[int, tuple[dict, float, str, str]] = {}
    pending = list(reversed(cases))
    while pending or running:
        while pending and len(running) < parallel:
            case = pending.pop()
            out_path = os.path.join(scratch, f"{len(pending)}.out")
            err_path = os.path.join(scratch, f"{len(pending)}.err")
            pid = os.fork()
            if pid == 0:
                child(case, out_path, err_path)
            try:
                os.setpgid(pid, pid)  # also here, so a kill never races the child's own setpgid
            except OSError:
                pass
            running[pid] = (case, time.perf_counter(), out_path, err_path)
        pid, status = os.waitpid(-1, os.WNOHANG)
        now = time.perf_counter()
        if pid == 0:
            for other, (case, started, _, _) in running.items():
                if now - started > timeout and not case.get("killed"):
                    case["killed"] = True
                    try:
                        os.killpg(other, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            time.sleep(0.005)
            continue
        case, started, out_path, err_path = running.pop(pid)
        try:
            os.killpg(pid, signal.SIGKILL)  # anything the case left behind (a solver child) goes too
        except (ProcessLookupError, PermissionError):
            pass
        result = {
            "id": case["id"], "status": os.waitstatus_to_exitcode(status), "seconds": now - started,
            "timed_out": bool(case.get("killed")), "stdout": read(out_path), "stderr": read(err_path),
        }
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
