"""Process-wide torch settings for training loops on the CPU."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The largest block glibc accepts as M_MMAP_THRESHOLD on 64-bit (HEAP_MAX_SIZE / 2): 32 MiB.
MMAP_THRESHOLD_BYTES = 32 << 20
TRIM_THRESHOLD_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks of up to 32 MiB for reuse instead of handing them back
    to the kernel; True when it took the settings (Linux with glibc), False elsewhere (a no-op).

    A training step allocates and frees the same activation buffers (several MB each) every time.
    With glibc's defaults those come from fresh ``mmap``s or a heap top that is trimmed after each
    step, so every step page-faults all of them in again: on the 2-core CPU the 13 x 96 policy
    step (bf16, batch 128) took 3.0 M minor page faults and 4.6 s of system time per 40 steps and
    ran 304 positions/s; with these two settings 9 page faults, 0.0 s and 375 positions/s (a one-off
    measurement on real batches, 2026-11-30, README "Page faults, fixed";
    tests/agents/test_torch_cpu.py shows the effect on a small net). The cost is memory held by the
    process: at most what the step's peak needs, which it needs again at the next step.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                                   TRIM_THRESHOLD_BYTES))


def configure_torch_cpu(threads: int) -> None:
    """``threads`` intra-op threads, subnormal floats flushed to zero, freed memory kept for reuse.

    Subnormals appear in real training (Adam's moments of small gradients) and cost the x86 units a
    microcode assist each: in a Pong DQN run on this CPU the fused Adam step took 9.7 ms instead of
    2.7 ms and the run did 113 agent steps/s instead of 168 (``set_flush_denormal`` off / on, same
    loop). Values below 1.2e-38 do not matter to any loss here. For the memory, see
    ``keep_freed_memory``.
    """
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    keep_freed_memory()
