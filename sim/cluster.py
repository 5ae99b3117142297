"""Talking to a Dask cluster with a deadline on every remote call (docs/model.md, "Solver", "On a cluster").

Connecting, waiting for a worker and gathering results each end within their timeout
with a :class:`ClusterError` (exit code 3 on the command line) that says what did not
answer, instead of hanging: the handshake itself can hang on a server that accepts a
connection and never answers, so it runs in a thread the caller stops waiting for. A
server that answers but is not a Dask scheduler (an HTTP server, say) provokes odd
exceptions from the wire protocol (a MemoryError for a bogus frame length, ...): they
are reported as "not a Dask scheduler".
"""

from __future__ import annotations

import threading

__all__ = ["ClusterError", "connect", "local_cluster", "wait_for_workers", "call_with_deadline",
           "DEFAULT_TIMEOUT", "GATHER_FACTOR"]

#: Seconds to connect to a scheduler and for it to have a worker (``run --timeout``).
DEFAULT_TIMEOUT = 30.0
#: Each part of a batch solved on a cluster is waited for at most this many times the timeout.
GATHER_FACTOR = 20


class ClusterError(RuntimeError):
    """The Dask cluster could not be reached, is not a Dask scheduler, or did not answer in time."""


def call_with_deadline(action, timeout: float, what: str, grace: float = 0.0):
    """``action()`` run in a daemon thread; its result, or :class:`ClusterError` if it has not returned in time.

    ``timeout`` seconds (the one the user gave, named in the message) plus ``grace`` (for an action
    whose own timeout is ``timeout``, to let it report first). Exceptions of ``action`` are raised here
    unchanged. A thread still waiting on the network is left behind (a daemon: it does not keep the
    process alive).
    """
    outcome = {}

    def target():
        try:
            outcome["value"] = action()
        except BaseException as exc:  # handed to the caller's thread as it is
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"tradesim: {what}", daemon=True)
    thread.start()
    thread.join(timeout + grace)
    if thread.is_alive():
        raise ClusterError(f"{what}: no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def connect(address: str, timeout: float = DEFAULT_TIMEOUT):
    """A :class:`distributed.Client` of the scheduler at ``address`` with at least one worker, within ``timeout`` each.

    Raises
    ------
    ClusterError
        Nothing listens there, it did not answer in time, it is not a Dask scheduler, or no worker
        joined it in time.
    """
    from distributed import Client

    where = f"the Dask scheduler at {address!r}"
    try:
        # Client's own timeout covers the TCP connection; the overall deadline also covers a handshake that hangs
        client = call_with_deadline(lambda: Client(address, timeout=f"{timeout}s"), timeout,
                                    f"connecting to {where}", grace=1.0)
    except ClusterError:
        raise
    except (OSError, TimeoutError) as exc:  # refused, unreachable, closed (distributed's CommClosedError is an OSError)
        raise ClusterError(f"cannot connect to {where}: {_describe(exc)}") from None
    except Exception as exc:  # what a server that is not a Dask scheduler provokes
        raise ClusterError(f"{address!r} is not a Dask scheduler (its answer could not be read: "
                           f"{_describe(exc)})") from None
    try:
        wait_for_workers(client, timeout, where)
    except BaseException:
        _close_quietly(client, timeout)
        raise
    return client


def wait_for_workers(client, timeout: float, where: str = "the Dask scheduler") -> None:
    """Wait until the cluster has a worker; :class:`ClusterError` if none joins within ``timeout`` seconds."""
    try:
        call_with_deadline(lambda: client.wait_for_workers(1, timeout=timeout), timeout,
                           f"waiting for a worker of {where}", grace=1.0)
    except (TimeoutError, OSError) as exc:
        raise ClusterError(f"{where} has no worker: none joined within {timeout:g} s "
                           f"({_describe(exc)})") from None


def local_cluster(workers: int):
    """A local cluster of ``workers`` processes, its scheduler and dashboard on free ports of 127.0.0.1 only.

    (``dashboard_address=None`` would still bind port 8787: two runs at once would clash.)
    """
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0")


def _close_quietly(client, timeout: float) -> None:
    try:
        call_with_deadline(lambda: client.close(timeout=timeout), timeout, "closing the client", grace=1.0)
    except Exception:  # already reporting the real problem
        pass


def _describe(exc: BaseException, width: int = 100) -> str:
    """``Type: first line of the message``, cut to ``width`` characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= width else text[:width - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
