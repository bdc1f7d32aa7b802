# Copyright 2026 edge_perception contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""
CPU affinity of threads (Linux): pin the calling thread, read it back, validate CPU ids.

On Linux ``os.sched_setaffinity(0, ...)`` applies to the calling thread only, which is what
an inference worker wants; threads it starts afterwards inherit the mask.
"""

from contextlib import contextmanager
import os
from typing import Iterable, Optional, Set


def available_cpus() -> Set[int]:
    """Return the CPUs this process may run on."""
    if hasattr(os, 'sched_getaffinity'):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def validate_cpus(cpus: Iterable[int]) -> Set[int]:
    """Return the CPU ids as a set; raise ValueError naming the ids this machine does not have."""
    cpus = {int(c) for c in cpus}
    missing = sorted(cpus - available_cpus())
    if missing:
        raise ValueError(f'CPU ids {missing} are not available here '
                         f'(this process may use {sorted(available_cpus())})')
    return cpus


def pin_current_thread(cpus: Optional[Iterable[int]]) -> Optional[Set[int]]:
    """Pin the calling thread to ``cpus`` (empty/None: leave as is); return the new mask."""
    if not cpus:
        return None
    cpus = validate_cpus(cpus)
    if not hasattr(os, 'sched_setaffinity'):
        raise OSError('thread CPU affinity needs Linux (os.sched_setaffinity)')
    os.sched_setaffinity(0, cpus)
    return set(os.sched_getaffinity(0))


@contextmanager
def pinned(cpus: Optional[Iterable[int]]):
    """
    Run a block with the calling thread pinned, then restore its previous mask.

    Threads created inside the block (e.g. a runtime's worker pool) keep the pinned mask.
    """
    if not cpus:
        yield
        return
    before = available_cpus()
    pin_current_thread(cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
