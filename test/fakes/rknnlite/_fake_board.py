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
The simulated board behind the fake ``RKNNLite``: SoC, versions, failure switches, call log.

Not part of the vendor API. Tests set ``BOARD`` fields (the fixture gives a fresh module per
test); the fake reads them the way the real runtime reads the hardware.
"""

from dataclasses import dataclass, field
from typing import List, Tuple

# What RKNN-Toolkit Lite2 knows about each SoC: NPU cores (RK3588 3, RK3576 2, others 1).
CORES = {'rk3588': 3, 'rk3576': 2, 'rk3562': 1, 'rk3566': 1, 'rk3568': 1}


@dataclass
class Board:
    """One simulated board and the switches that make the fake fail like the real runtime."""

    soc: str = 'rk3588'
    runtime_version: str = '2.3.2 (429f97ae6b@2025-04-09T09:09:27)'
    driver_version: str = '0.9.8'
    fail_load: bool = False              # load_rknn returns -1
    inference_returns_none: bool = False  # inference returns None (set_inputs/run failed)
    calls: List[Tuple] = field(default_factory=list)

    @property
    def npu_cores(self) -> int:
        return CORES[self.soc]

    def record(self, *call) -> None:
        self.calls.append(call)

    def count(self, method: str) -> int:
        return sum(1 for c in self.calls if c[0] == method)


BOARD = Board()
