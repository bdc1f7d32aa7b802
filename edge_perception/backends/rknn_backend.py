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
Rockchip NPU backend: RKNN-Toolkit Lite2's ``RKNNLite`` on RK3588/RK3576/RK3566/RK3568/RK3562.

Written against the documented Python API (RKNPU User Guide, chapter RKNN-Toolkit Lite2):
``RKNNLite(verbose=False, verbose_file=None)``; ``load_rknn(path)`` and
``init_runtime(core_mask=...)`` return 0 or -1; ``inference(inputs=[...])`` takes NHWC arrays
and returns a list of ndarrays (dequantised floats; the Python API has no raw int8 output)
or None on failure; ``get_sdk_version()`` returns the librknnrt and driver versions as text
once the runtime is initialised; ``release()`` frees the runtime. The API has no query for
tensor shapes: the input size comes from the .rknn file itself (or the ``input_size`` option)
and the output shapes from one inference of a zero image at load time.
"""

from typing import Iterable, Optional

import numpy as np

from . import BACKENDS, rknn_version
from .base import Backend
from ..affinity import pinned
from ..errors import BackendUnavailableError, ModelLoadError

# core_mask option -> RKNNLite constant ('all' exists since RKNN-Toolkit Lite2 2.0.0).
CORE_MASKS = {'auto': 'NPU_CORE_AUTO', '0': 'NPU_CORE_0', '1': 'NPU_CORE_1', '2': 'NPU_CORE_2',
              '0_1': 'NPU_CORE_0_1', '0_1_2': 'NPU_CORE_0_1_2', 'all': 'NPU_CORE_ALL'}
# Cores a SoC must have for each mask (single-core SoCs take no core mask at all).
MASK_NEEDS_CORES = {'auto': 1, 'all': 2, '0': 2, '1': 2, '2': 3, '0_1': 2, '0_1_2': 3}
OPTIONS = ('input_size', 'version_check', 'system_paths')
VERSION_CHECK_MODES = ('error', 'warn')


def core_mask_name(core_mask) -> str:
    """Return the canonical core mask name ('auto', '0', ... 'all'); ValueError if unknown."""
    name = str(core_mask).strip().lower()
    if name.startswith('npu_core_'):
        name = name[len('npu_core_'):]
    if name not in CORE_MASKS:
        raise ValueError(f'core_mask {core_mask!r} is not one of {", ".join(CORE_MASKS)}')
    return name


def check_core_mask(name: str, soc: Optional[str]) -> None:
    """Raise ValueError when the SoC lacks the NPU cores ``name`` asks for (unknown SoC: pass)."""
    cores = rknn_version.npu_cores(soc)
    if cores is None or MASK_NEEDS_CORES[name] <= cores:
        return
    if cores == 1:
        raise ValueError(f'core_mask {name!r}: {soc} has one NPU core and RKNNLite accepts a '
                         "core mask only on RK3576/RK3588; use core_mask 'auto'")
    allowed = [m for m, need in MASK_NEEDS_CORES.items() if need <= cores]
    raise ValueError(f'core_mask {name!r}: {soc} has {cores} NPU cores (0..{cores - 1}); '
                     f'use one of {", ".join(allowed)}')


def _nhwc(shape) -> tuple:
    """Return a 4-D image input shape as NHWC (the .rknn records ONNX inputs as NCHW)."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 4 and shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4):
        return (shape[0], shape[2], shape[3], shape[1])
    return shape


class RknnLiteBackend(Backend):
    """
    One RKNNLite runtime on the board's NPU.

    threads: RKNNLite has no thread setting; 0 or 1 only. Use ``core_mask`` (or one backend
    per NPU core) for more throughput.
    cpu_affinity: CPU ids the runtime is initialised on (threads it starts inherit them);
    the thread calling ``infer`` should pin itself too (the node's worker does).
    core_mask: 'auto' (default), '0', '1', '2', '0_1', '0_1_2' or 'all'; a mask this SoC has
    no cores for is rejected (RK3588 3 cores, RK3576 2, RK3566/RK3568/RK3562 1: 'auto' only).
    input_size: N or (height, width) when the .rknn file does not record its input size.
    version_check: 'error' (default) raises on an error finding of the start-up version check;
    'warn' keeps every finding as a warning. Findings other than ok are in ``findings``.
    system_paths: an ``rknn_version.SystemPaths`` (device tree, driver and library files).
    """

    name = 'rknn'
    vendor = 'rknn'

    def __init__(self, path: str, threads: int = 0, cpu_affinity: Optional[Iterable[int]] = None,
                 core_mask: str = 'auto', **options):
        super().__init__()
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f'backend rknn has no options {unknown} (it takes threads, '
                             f'cpu_affinity, core_mask, {", ".join(OPTIONS)})')
        if int(threads) not in (0, 1):
            raise ValueError(f'threads={threads}: RKNNLite has no thread setting (0 or 1 only); '
                             "for more throughput use core_mask ('0_1_2' on RK3588) or one "
                             'model per NPU core')
        self.core_mask = core_mask_name(core_mask)
        version_check = options.get('version_check', 'error')
        if version_check not in VERSION_CHECK_MODES:
            raise ValueError(f'version_check {version_check!r} is not one of '
                             f'{VERSION_CHECK_MODES}')
        paths = options.get('system_paths') or rknn_version.DEFAULT_PATHS
        try:
            from rknnlite.api import RKNNLite
        except ImportError as exc:
            fix = BACKENDS['rknn'][2]
            raise BackendUnavailableError(
                f'backend rknn needs the Python package rknnlite ({exc}). Fix: {fix}') from None
        self.path = path
        self._rknn = None
        self.findings = []
        info = rknn_version.read_rknn_info(path)
        self.input_shape = self._input_shape(info, options.get('input_size'))
        self.input_dtype = 'uint8'
        self.report = rknn_version.check_versions(path, self.core_mask, paths=paths, info=info)
        check_core_mask(self.core_mask, self.report.soc)
        mask = getattr(RKNNLite, CORE_MASKS[self.core_mask], None)
        if mask is None:
            raise ValueError(f'core_mask {self.core_mask!r} needs RKNN-Toolkit Lite2 >= 2.0 '
                             f'(RKNNLite.{CORE_MASKS[self.core_mask]}); this rknnlite lacks it')
        self._raise_for(version_check)
        rknn = RKNNLite(verbose=False)
        ret = rknn.load_rknn(path)
        if ret != 0:
            rknn.release()
            raise ModelLoadError(f'RKNNLite.load_rknn({path!r}) returned {ret}. Fix: check that '
                                 'the file exists, is readable and is a complete .rknn export')
        try:
            with pinned(cpu_affinity):
                ret = rknn.init_runtime(core_mask=mask)
                if ret != 0:
                    raise BackendUnavailableError(self._init_failure(ret))
                sdk = rknn.get_sdk_version()
                if isinstance(sdk, str) and sdk:
                    self.report = rknn_version.check_versions(path, self.core_mask, sdk,
                                                              paths, info)
                self._raise_for(version_check)
                outputs = rknn.inference(inputs=[np.zeros(self.input_shape, np.uint8)])
        except BaseException:
            rknn.release()
            raise
        if outputs is None:
            rknn.release()
            raise BackendUnavailableError(
                f'{path}: RKNNLite.inference returned None for a zero image of shape '
                f'{self.input_shape} (run at load time to learn the output shapes); the runtime '
                f'logged the cause above. [{self.report.summary()}]')
        self.output_shapes = [tuple(np.shape(o)) for o in outputs]
        self._rknn = rknn

    def _input_shape(self, info, input_size) -> tuple:
        if len(info.input_shapes) > 1:
            raise ModelLoadError(f'{self.path} has {len(info.input_shapes)} inputs; image models '
                                 'have one')
        if input_size is not None:
            size = [int(input_size)] * 2 if np.ndim(input_size) == 0 else \
                [int(v) for v in input_size]
            if len(size) != 2 or min(size) <= 0:
                raise ValueError(f'input_size {input_size!r}: give N or (height, width)')
            return (1, size[0], size[1], 3)
        if info.input_shapes and len(info.input_shapes[0]) == 4:
            return _nhwc(info.input_shapes[0])
        raise ModelLoadError(f'{self.path} does not record its input size '
                             f'({info.note or "no 4-D input in its JSON"}) and RKNNLite has no '
                             "shape query. Fix: pass backend_options={'input_size': [H, W]}")

    def _raise_for(self, version_check: str) -> None:
        """Raise the version check's errors as one message (mode 'error'); keep the rest."""
        if version_check == 'error' and self.report.errors:
            raise BackendUnavailableError(self.report.error_message())
        self.findings = [f if f.level != 'error' else
                         rknn_version.Finding('warn', f.what, f.fix)
                         for f in self.report.findings if f.level != 'ok']

    def _init_failure(self, ret: int) -> str:
        r = self.report
        built = r.toolkit_version or 'unknown'
        return (f'RKNNLite.init_runtime(core_mask=NPU_CORE_{self.core_mask.upper()}) returned '
                f'{ret} for {self.path} [{r.summary()}]. Most likely fixes: (1) versions: the '
                f'rknn-toolkit2 that built the model ({built}), librknnrt.so on the board '
                f'({r.runtime_version or "unknown"}) and rknn_server must be the same version; '
                'copy rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so of that '
                'rknn-toolkit2 release to /usr/lib, or rebuild the model with the toolkit '
                'matching the board; (2) target platform: rebuild with '
                f"rknn.config(target_platform='{r.soc or '<this SoC>'}'); (3) core mask: "
                f"'{self.core_mask}' must exist on this SoC (RK3588 3 cores, RK3576 2, others "
                "1: use 'auto'). The runtime printed the exact cause above (lines 'E RKNN:').")

    def infer(self, tensor):
        if self._rknn is None:
            raise RuntimeError(f'rknn backend for {self.path} is closed')
        outputs = self._rknn.inference(inputs=[tensor])
        if outputs is None:
            raise RuntimeError(f'RKNNLite.inference returned None for {self.path} (input '
                               f'{tuple(np.shape(tensor))} {np.asarray(tensor).dtype}); the '
                               "runtime logged the cause ('E RKNN:' lines)")
        return outputs

    def close(self) -> None:
        rknn, self._rknn = self._rknn, None
        if rknn is not None:
            rknn.release()

    def describe(self) -> str:
        return (f'{super().describe()}, core_mask {self.core_mask}; '
                f'{self.report.summary()}')
