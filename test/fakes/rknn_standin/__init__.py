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
Pure-Python stand-ins for the compiled helpers of RKNN-Toolkit Lite2 2.5.0 (test support only).

The contract tests run the vendor's real ``rknnlite/api/rknn_lite.py`` (unpacked from the
``rknn-toolkit-lite2==2.5.0`` aarch64 wheel into ``<repo>/.vendor`` by
``scripts/fetch_vendor_wheels.sh``). Its compiled helpers do not load on x86, so
``activate()`` puts a meta-path finder in front of them that maps exactly these four module
names to the files of this package, and nothing else:

- ``rknnlite.api.rknn_runtime`` -> ``runtime.py`` (``RKNNRuntime``, the librknnrt wrapper);
- ``rknnlite.api.rknn_log`` -> ``log.py``;
- ``rknnlite.api.rknn_platform_utils`` -> ``platform_utils.py``;
- ``rknnlite.api.npu_config.cpu_npu_mapper`` -> ``cpu_npu_mapper.py`` (reads the wheel's own
  ``rknnlite/config/cpu_npu_mapper.yml``).

``board.BOARD`` is the simulated board behind them (SoC, driver, the librknnrt file, call log).
"""
