"""Running a function on untrusted input in a child process with hard limits on CPU time
and memory, so that a file built to make a library work for minutes or take gigabytes
costs one bounded child, never a worker of the portal.

The child is forked (it shares the parent's loaded code, nothing is imported again),
touches no database connection, and leaves with ``os._exit`` so that nothing inherited
is cleaned up twice."""

from __future__ import annotations

import multiprocessing
import os
import resource
import traceback


class SandboxFailed(Exception):
    """The function did not finish within its limits (``reason`` "limits"), or raised
    (``reason`` "error", with the child's traceback in ``detail``)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def run_limited(function, *args, cpu_seconds: int, memory_megabytes: int, wall_seconds: int):
    """``function(*args)``'s result, computed in a forked child allowed ``cpu_seconds``
    of CPU and ``memory_megabytes`` more address space than the parent had, and given
    ``wall_seconds`` in all. The result must be picklable. Raises SandboxFailed."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, function, args, cpu_seconds, memory_megabytes),
                            daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(wall_seconds):
            raise SandboxFailed("limits")
        try:
            status, value = receiver.recv()
        except EOFError:  # killed by a limit before it could answer
            raise SandboxFailed("limits") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if status == "error":
        raise SandboxFailed("error", value)
    return value


def _child(sender, function, args, cpu_seconds: int, memory_megabytes: int) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        address_space = _address_space() + memory_megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        try:
            answer = ("ok", function(*args))
        except MemoryError:
            answer = ("limits", None)
        except Exception:  # noqa: BLE001 - whatever the library raised, the parent decides
            answer = ("error", traceback.format_exc(limit=5))
        if answer[0] == "limits":
            os._exit(1)
        sender.send(answer)
    finally:
        os._exit(0)


def _address_space() -> int:
    """This process's virtual memory size in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
