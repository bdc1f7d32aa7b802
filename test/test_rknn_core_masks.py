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
Our core-mask handling predicts what RKNNLite itself does with each mask on each SoC.

For every SoC and mask the real ``rknn_lite.py`` (with the stand-in runtime, whose
``set_core_mask`` follows the 2.5.0 wheel's compiled one) is run directly, and its outcome -
refused (``init_runtime`` -1), the mask librknnrt got, a warning or not - is compared with
``rknn_backend.check_core_mask``. The SoC families come from the wheel's
``cpu_npu_mapper.yml`` and are compared with ``rknn_version.SAME_NPU``.
"""

import itertools

from edge_perception.backends import rknn_backend, rknn_version
import pytest

from .rknn_board import forget_rknnlite, make_board

SOCS = ('rk3588', 'rk3576', 'rk3566', 'rk3568', 'rk3562')


@pytest.fixture
def board(tmp_path, monkeypatch):
    forget_rknnlite()
    yield make_board(tmp_path, monkeypatch)
    forget_rknnlite()


def vendor_outcome(board, soc, mask):
    """Run RKNNLite with this mask on this SoC: (refused, mask librknnrt got, warned)."""
    from rknnlite.api import RKNNLite
    board.set_soc(soc)
    board.board.core_mask = None
    board.board.log.clear()
    rknn = RKNNLite()
    assert rknn.load_rknn(board.model(platform=soc)) == 0
    ret = rknn.init_runtime(core_mask=getattr(RKNNLite, rknn_backend.CORE_MASKS[mask]))
    rknn.release()
    warned = any('NPU cores' in m for m in board.board.said('W'))
    return ret != 0, board.board.core_mask, warned


@pytest.mark.contract
@pytest.mark.parametrize('soc', SOCS)
def test_check_core_mask_matches_rknnlite(board, soc):
    from rknnlite.api import RKNNLite
    for mask in rknn_backend.CORE_MASKS:
        refused, got, warned = vendor_outcome(board, soc, mask)
        try:
            findings = rknn_backend.check_core_mask(mask, soc)
        except ValueError:
            assert refused, (soc, mask)
            continue
        assert not refused, (soc, mask)
        assert warned == any(f.level == 'warn' for f in findings), (soc, mask)
        requested = getattr(RKNNLite, rknn_backend.CORE_MASKS[mask])
        if mask == 'auto':
            assert got is None                       # RKNNLite does not call librknnrt
        elif got != requested:                       # remapped: our finding names the result
            effective = [k for k, v in rknn_backend.CORE_MASKS.items()
                         if getattr(RKNNLite, v) == got]
            assert findings and f'NPU_CORE_{effective[0].upper()}' in findings[0].what, \
                (soc, mask, got)
        else:
            assert findings == [], (soc, mask)


@pytest.mark.contract
def test_same_npu_table_matches_the_wheels_cpu_npu_mapper(board):
    from rknnlite.api.npu_config import cpu_npu_mapper
    wheel = cpu_npu_mapper.get_support_target_soc()
    known = [s for s in rknn_version.NPU_CORES if s.upper() in wheel]
    assert set(SOCS) <= set(known)
    for a, b in itertools.combinations(known, 2):
        vendor = (cpu_npu_mapper.get_npu_model_from_target(a)
                  == cpu_npu_mapper.get_npu_model_from_target(b))
        assert rknn_version.same_npu(a, b) == vendor, (a, b)
