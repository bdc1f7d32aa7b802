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
A newest-frame-wins worker: one inference thread fed from a single-slot mailbox.

Camera callbacks must never block on inference. ``submit`` drops the frame still waiting (if
any) in favour of the new one and counts the drop; the worker thread takes the newest frame
whenever it is free. ROS-free, so the node and tests share it.
"""

import threading
from typing import Callable, Optional

from .affinity import pin_current_thread


class LatestFrameWorker:
    """Runs ``process(item)`` on a background thread for the newest submitted item."""

    def __init__(self, process: Callable[[object], None], name: str = 'inference',
                 cpu_affinity=None, on_error: Optional[Callable[[BaseException], None]] = None):
        self._process = process
        self._on_error = on_error
        self._cpu_affinity = tuple(cpu_affinity or ())
        self._cond = threading.Condition()
        self._pending = None
        self._has_pending = False
        self._stopping = False
        self.submitted = 0
        self.dropped = 0
        self.processed = 0
        self.affinity = None     # the worker thread's CPU mask after pinning (read back)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item) -> bool:
        """Hand over a new item; returns False when it replaced an unprocessed one (a drop)."""
        with self._cond:
            self.submitted += 1
            replaced = self._has_pending
            if replaced:
                self.dropped += 1
            self._pending, self._has_pending = item, True
            self._cond.notify()
        return not replaced

    def _run(self):
        if self._cpu_affinity:
            self.affinity = pin_current_thread(self._cpu_affinity)
        while True:
            with self._cond:
                while not self._has_pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item, self._pending, self._has_pending = self._pending, None, False
            try:
                self._process(item)
            except Exception as exc:  # keep serving: the callback decides how to report it
                if self._on_error is not None:
                    self._on_error(exc)
            finally:
                with self._cond:
                    self.processed += 1
                    self._cond.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is pending or running (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._has_pending and self.processed + self.dropped
                >= self.submitted, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the item in progress; a pending one is discarded."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
