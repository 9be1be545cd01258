"""``serve --workers N``: N worker processes of one service, sharing nothing
but the database and files that are read-only once started.

The supervisor runs the migration once (the caller does, before
:func:`supervise`), then starts N children with ``--worker-index i``. The
children either share one port (SO_REUSEPORT: the kernel spreads
connections) or each take port + i (a balancer in front, HAProxy, which
checks each worker's health port). A worker that dies is not restarted
silently: the supervisor logs it at ERROR, the others go on serving, and the
supervisor exits with status 1 once none is left. SIGTERM/SIGINT stop all."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)


def worker_argv(argv: Sequence[str], index: int) -> list[str]:
    """The supervisor's command line for worker ``index``: ``--workers N``
    dropped; ``--worker-index i --no-migrate`` added."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    return [*out, "--worker-index", str(index), "--no-migrate"]


def supervise(module: str, argv: Sequence[str], count: int,
              poll_seconds: float = 0.5) -> int:
    """Run ``python -m module`` N times (see :func:`worker_argv`) until a
    signal; the exit status is 0 after a requested stop, 1 if workers died."""
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children = {i: subprocess.Popen([sys.executable, "-m", module, *worker_argv(argv, i)])
                for i in range(count)}
    log.info("%s: %d workers started: %s", module, count,
             ", ".join(f"{i}=pid {p.pid}" for i, p in children.items()))
    died = False
    while children and not stopping:
        for index, child in list(children.items()):
            code = child.poll()
            if code is not None:
                died = True
                del children[index]
                how = f"signal {-code}" if code < 0 else f"status {code}"
                log.error("%s worker %d (pid %d) exited with %s; NOT restarted, "
                          "%d worker(s) left", module, index, child.pid, how, len(children))
        time.sleep(poll_seconds)
    for child in children.values():
        child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 1 if died else 0


def holder_id() -> str:
    """This process, unmistakably (a pid is reused; the random part is not):
    ``host:pid:random``, the owner of a claim or lease in the database."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_gone(holder: str) -> bool:
    """True when ``holder`` (:func:`holder_id`) was a process of this host
    that no longer runs: its claims can be taken over at once rather than
    after they go stale. A holder on another host is never judged gone."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
