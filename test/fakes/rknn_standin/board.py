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
The simulated Rockchip board behind the stand-in runtime: its files, versions and a call log.

Not part of any vendor API. The hardware facts live here (the SoC the NPU driver reports, the
driver version); what the vendor's Python reads from files is in files: the device-tree
compatible file (the SoC the Python wrapper sees) and a ``librknnrt.so`` carrying its
``librknnrt version: X.Y.Z`` string (the runtime library the wrapper loads).
"""

from dataclasses import dataclass, field
import re
import sys
from typing import List, Optional, Tuple

# NPU cores per SoC, as the NPU driver reports them (RK3588 3, RK3576 2, the others 1).
CORES = {'rk3588': 3, 'rk3576': 2, 'rk3562': 1, 'rk3566': 1, 'rk3568': 1}


@dataclass
class Board:
    """One simulated board: the files the vendor code reads, its log and the calls made."""

    soc: str = 'rk3588'
    driver_version: str = '0.9.8'
    compatible: str = '/proc/device-tree/compatible'
    librknnrt: str = '/usr/lib/librknnrt.so'
    core_mask: Optional[int] = None          # the mask librknnrt was last given
    log: List[Tuple[str, str]] = field(default_factory=list)
    calls: List[Tuple] = field(default_factory=list)

    @property
    def npu_cores(self) -> int:
        return CORES[self.soc]

    def runtime_version(self) -> Optional[str]:
        """Return the version string inside the librknnrt file, None when it is missing."""
        try:
            with open(self.librknnrt, 'rb') as f:
                data = f.read()
        except OSError:
            return None
        match = re.search(rb'librknnrt version: ([^\0]+)', data)
        return match.group(1).decode('ascii', 'replace') if match else None

    def record(self, *call) -> None:
        self.calls.append(call)

    def count(self, method: str) -> int:
        return sum(1 for c in self.calls if c[0] == method)

    def say(self, level: str, message: str) -> None:
        """Log one line the way the vendor code prints it (level E/W/I/D) and keep it."""
        self.log.append((level, message))
        print(f'{level} {message}', file=sys.stderr)

    def said(self, level: str) -> List[str]:
        return [m for lv, m in self.log if lv == level]


BOARD = Board()


def reset(**fields) -> Board:
    """Put a fresh board in place (one per test) and return it."""
    global BOARD
    BOARD.__init__(**fields)
    return BOARD
