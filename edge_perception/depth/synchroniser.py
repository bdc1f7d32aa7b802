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
Pair colour frames with depth images by stamp: approximate time, bounded buffers and wait.

A colour frame is paired with the buffered depth image whose stamp is closest to its own,
if that is within ``slop``. It is decided as soon as a depth image stamped at or after it
has arrived (later ones can only be farther away), or after it waited ``max_wait`` seconds
of the clock (a depth stream that stalls never stalls the colour output): then it is paired
with the best depth seen so far, or with None (published in 2D only, counted
``unmatched``). Depth images are kept in a ring of ``depth_buffer`` (one may serve several
colour frames: a 15 Hz depth stream with a 30 Hz colour one); at most ``colour_buffer``
colour frames wait, the oldest is decided when more arrive. Output is in colour arrival
order. No ROS import: stamps are integer nanoseconds, the clock is injectable, so this is
what the nodes use whether or not message_filters is installed.
"""

from collections import deque
from dataclasses import dataclass
import threading
import time
from typing import Any, Callable, List, Optional

__all__ = ['Pair', 'StampSynchroniser', 'stamp_ns']


def stamp_ns(stamp) -> int:
    """Nanoseconds of a builtin_interfaces/Time (``sec``, ``nanosec``)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


@dataclass
class Pair:
    """A colour frame and its depth image (None: none within the slop), with the offset."""

    colour: Any
    colour_stamp: int
    depth: Any = None
    depth_stamp: Optional[int] = None
    waited: float = 0.0

    @property
    def offset(self) -> Optional[float]:
        """Depth stamp minus colour stamp in seconds, None without depth."""
        if self.depth_stamp is None:
            return None
        return (self.depth_stamp - self.colour_stamp) / 1e9


class StampSynchroniser:
    """Approximate-time pairing of colour frames with depth images (see the module text)."""

    def __init__(self, slop: float = 0.05, max_wait: float = 0.1, depth_buffer: int = 8,
                 colour_buffer: int = 4, clock: Callable[[], float] = time.monotonic):
        if slop < 0 or max_wait < 0 or depth_buffer < 1 or colour_buffer < 1:
            raise ValueError(f'StampSynchroniser: need slop >= 0, max_wait >= 0 and buffers '
                             f'>= 1, got slop={slop} max_wait={max_wait} '
                             f'depth_buffer={depth_buffer} colour_buffer={colour_buffer}')
        self._slop = int(round(slop * 1e9))
        self._max_wait = float(max_wait)
        self._clock = clock
        self._depth = deque(maxlen=int(depth_buffer))
        self._pending = deque()
        self._colour_buffer = int(colour_buffer)
        self._lock = threading.Lock()
        self.counts = {'matched': 0, 'unmatched': 0, 'colour_overflow': 0,
                       'depth_evicted_unused': 0}
        self._used = set()

    def add_depth(self, stamp: int, depth) -> List[Pair]:
        """Buffer a depth image; return the colour frames this decides."""
        with self._lock:
            if len(self._depth) == self._depth.maxlen:
                old = self._depth[0][0]
                if old not in self._used:
                    self.counts['depth_evicted_unused'] += 1
                self._used.discard(old)
            self._depth.append((int(stamp), depth))
            return self._decide(self._clock())

    def add_colour(self, stamp: int, colour) -> List[Pair]:
        """Queue a colour frame; return the colour frames decided now (maybe this one)."""
        with self._lock:
            self._pending.append((int(stamp), colour, self._clock()))
            out = []
            while len(self._pending) > self._colour_buffer:
                self.counts['colour_overflow'] += 1
                out.append(self._pair(self._pending.popleft(), self._clock()))
            return out + self._decide(self._clock())

    def poll(self) -> List[Pair]:
        """Return the colour frames whose wait is over (call it from a timer)."""
        with self._lock:
            return self._decide(self._clock())

    def flush(self) -> List[Pair]:
        """Decide every waiting colour frame now (shutdown)."""
        with self._lock:
            now = self._clock()
            out = [self._pair(item, now) for item in self._pending]
            self._pending.clear()
            return out

    @property
    def waiting(self) -> int:
        """Colour frames waiting for depth."""
        with self._lock:
            return len(self._pending)

    def _decide(self, now: float) -> List[Pair]:
        out = []
        newest = max((s for s, _ in self._depth), default=None)
        while self._pending:
            stamp, _, arrived = self._pending[0]
            if not ((newest is not None and newest >= stamp)
                    or now - arrived >= self._max_wait):
                break
            out.append(self._pair(self._pending.popleft(), now))
        return out

    def _pair(self, item, now: float) -> Pair:
        stamp, colour, arrived = item
        best = None
        for depth_stamp, depth in self._depth:
            gap = abs(depth_stamp - stamp)
            if gap <= self._slop and (best is None or gap < best[0]):
                best = (gap, depth_stamp, depth)
        if best is None:
            self.counts['unmatched'] += 1
            return Pair(colour, stamp, waited=now - arrived)
        self.counts['matched'] += 1
        self._used.add(best[1])
        return Pair(colour, stamp, best[2], best[1], now - arrived)
