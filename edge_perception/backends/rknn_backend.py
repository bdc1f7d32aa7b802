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

Written against the real ``rknnlite/api/rknn_lite.py`` of rknn-toolkit-lite2 2.5.0 (the tests
run that file): ``RKNNLite(verbose=False, verbose_file=None)``; ``load_rknn(path,
key_path=None)`` only reads the file and returns 0 or -1; ``init_runtime(target=None,
device_id=None, async_mode=False, core_mask=NPU_CORE_AUTO)`` parses the model in librknnrt
and returns 0, or -1 (the cause is logged as ``E ...`` lines); off the board (not aarch64 or
armv7l) it raises AttributeError instead (a bug in its own error path); ``inference(inputs,
data_type=None, data_format=None, inputs_pass_through=None, get_frame_id=False,
reuse_outputs=False)`` takes NHWC arrays and returns a list of float32 ndarrays, or None when
the runtime refused the inputs or failed; ``get_sdk_version()`` returns the ``RKNN VERSION``
text (librknnrt and driver versions) once the runtime is initialised; ``release()`` frees the
runtime. The API has no query for tensor shapes: the input size comes from the .rknn file
itself (or the ``input_size`` option) and the output shapes from one inference of a zero image
at load time.

Core masks are handled by RKNNLite itself (``RKNNRuntime.set_core_mask`` of the 2.5.0 wheel):
``NPU_CORE_AUTO`` always works; any other mask is an error on a SoC other than RK3588/RK3576;
on RK3576 (2 cores) ``NPU_CORE_2`` is replaced by ``NPU_CORE_0`` and ``NPU_CORE_0_1_2`` by
``NPU_CORE_0_1`` with a warning, ``NPU_CORE_ALL`` by ``NPU_CORE_0_1``; on RK3588
``NPU_CORE_ALL`` means ``NPU_CORE_0_1_2``. This backend refuses early only what RKNNLite would
refuse, and keeps a warning for what it remaps.
"""

import platform
from typing import Iterable, List, Optional

import numpy as np

from . import BACKENDS, rknn_version
from .base import Backend
from ..affinity import pinned
from ..errors import BackendUnavailableError, ModelLoadError

# core_mask option -> RKNNLite constant ('all' exists since RKNN-Toolkit Lite2 2.0.0).
CORE_MASKS = {'auto': 'NPU_CORE_AUTO', '0': 'NPU_CORE_0', '1': 'NPU_CORE_1', '2': 'NPU_CORE_2',
              '0_1': 'NPU_CORE_0_1', '0_1_2': 'NPU_CORE_0_1_2', 'all': 'NPU_CORE_ALL'}
# SoCs on which RKNNLite accepts a core mask other than 'auto' (its MULTI_NPU_SOC).
MULTI_NPU_SOCS = ('rk3588', 'rk3576')
# What RKNNLite makes of a mask on a SoC with fewer cores: (soc, mask) -> (effective, warns).
REMAPPED_MASKS = {('rk3576', '2'): ('0', True), ('rk3576', '0_1_2'): ('0_1', True),
                  ('rk3576', 'all'): ('0_1', False), ('rk3588', 'all'): ('0_1_2', False)}
BOARD_MACHINES = ('aarch64', 'armv7l')    # where RKNNLite.init_runtime runs (no simulator)
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


def check_core_mask(name: str, soc: Optional[str]) -> List[rknn_version.Finding]:
    """
    Say what RKNNLite will do with core mask ``name`` on ``soc`` (None: unknown SoC).

    Raises ValueError where RKNNLite refuses (a mask other than 'auto' on a single-core SoC);
    returns a 'warn' finding where it replaces the mask with a warning (RK3576 has no core 2),
    an 'info' finding where it replaces it silently ('all'), else nothing.
    """
    soc = rknn_version.normalise_soc(soc) if soc else None
    if name == 'auto' or soc is None:
        return []
    if soc not in MULTI_NPU_SOCS:
        raise ValueError(f'core_mask {name!r}: {soc} has one NPU core and RKNNLite accepts a '
                         "core mask only on RK3576/RK3588; use core_mask 'auto'")
    effective, warns = REMAPPED_MASKS.get((soc, name), (name, False))
    if effective == name:
        return []
    if warns:
        cores = rknn_version.npu_cores(soc)
        return [rknn_version.Finding(
            'warn', f'core_mask {name!r}: {soc} has {cores} NPU cores (0..{cores - 1}); '
            f'RKNNLite replaces NPU_CORE_{name.upper()} with NPU_CORE_{effective.upper()}.',
            f"set core_mask '{effective}' to say what runs")]
    return [rknn_version.Finding('info', f"core_mask 'all' on {soc} is "
                                 f'NPU_CORE_{effective.upper()} (RKNNLite maps it).')]


def _nhwc(shape) -> tuple:
    """Return a 4-D image input shape as NHWC (the .rknn records ONNX inputs as NCHW)."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 4 and shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4):
        return (shape[0], shape[2], shape[3], shape[1])
    return shape


def _call(what: str, path: str, function, *args, **kwargs):
    """Call an RKNNLite method; an exception it raises becomes one clear error."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:     # noqa: B902 - the vendor code raises anything
        machine = platform.machine()
        hint = ('' if machine in BOARD_MACHINES else
                f' RKNN-Toolkit Lite2 runs only on the board (aarch64 or armv7l with the NPU); '
                f'this machine is {machine}: use the onnxruntime backend here, or the rknn_sim '
                'backend (rknn-toolkit2 simulator) on a PC.')
        raise BackendUnavailableError(
            f'{path}: RKNNLite.{what} raised {type(exc).__name__}: {exc}.{hint}') from exc


class RknnLiteBackend(Backend):
    """
    One RKNNLite runtime on the board's NPU.

    threads: RKNNLite has no thread setting; 0 or 1 only. Use ``core_mask`` (or one backend
    per NPU core) for more throughput.
    cpu_affinity: CPU ids the runtime is initialised on (threads it starts inherit them);
    the thread calling ``infer`` should pin itself too (the node's worker does).
    core_mask: 'auto' (default), '0', '1', '2', '0_1', '0_1_2' or 'all'. On a single-core SoC
    (RK3566/RK3568/RK3562) only 'auto' (RKNNLite refuses the others); on RK3576 (2 cores)
    '2' and '0_1_2' run as '0' and '0_1' (RKNNLite replaces them and warns; so does
    ``findings``); 'all' is '0_1' on RK3576, '0_1_2' on RK3588.
    input_size: N or (height, width) when the .rknn file does not record its input size.
    version_check: 'error' (default) raises on an error finding of the start-up version check;
    'warn' keeps every finding as a warning. Warnings are in ``findings``, notes (level
    'info', e.g. a librknnrt newer than the toolkit) in ``notes``.
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
        self.notes = []
        info = rknn_version.read_rknn_info(path)
        self.input_shape = self._input_shape(info, options.get('input_size'))
        self.input_dtype = 'uint8'
        self.report = rknn_version.check_versions(path, self.core_mask, paths=paths, info=info)
        self._mask_findings = check_core_mask(self.core_mask, self.report.soc)
        mask = getattr(RKNNLite, CORE_MASKS[self.core_mask], None)
        if mask is None:
            raise ValueError(f'core_mask {self.core_mask!r} needs RKNN-Toolkit Lite2 >= 2.0 '
                             f'(RKNNLite.{CORE_MASKS[self.core_mask]}); this rknnlite lacks it')
        self._raise_for(version_check)
        rknn = RKNNLite(verbose=False)
        ret = _call('load_rknn', path, rknn.load_rknn, path)
        if ret != 0:
            rknn.release()
            raise ModelLoadError(f'RKNNLite.load_rknn({path!r}) returned {ret}. Fix: check that '
                                 'the file exists, is readable and is a complete .rknn export')
        try:
            with pinned(cpu_affinity):
                ret = _call(f'init_runtime(core_mask=NPU_CORE_{self.core_mask.upper()})', path,
                            rknn.init_runtime, core_mask=mask)
                if ret != 0:
                    raise BackendUnavailableError(self._init_failure(ret))
                sdk = _call('get_sdk_version', path, rknn.get_sdk_version)
                if isinstance(sdk, str) and sdk:
                    self.report = rknn_version.check_versions(path, self.core_mask, sdk,
                                                              paths, info)
                self._raise_for(version_check)
                outputs = self._inference(rknn, np.zeros(self.input_shape, np.uint8))
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
        found = self.report.findings + self._mask_findings
        self.findings = [f if f.level != 'error' else
                         rknn_version.Finding('warn', f.what, f.fix)
                         for f in found if f.level in ('warn', 'error')]
        self.notes = [f for f in found if f.level == 'info']

    def _init_failure(self, ret) -> str:
        r = self.report
        built = r.toolkit_version or 'unknown'
        return (f'RKNNLite.init_runtime(core_mask=NPU_CORE_{self.core_mask.upper()}) returned '
                f'{ret} for {self.path} [{r.summary()}]. Most likely fixes: (1) versions: '
                f'librknnrt.so on the board ({r.runtime_version or "unknown"}) must be at least '
                f'the rknn-toolkit2 version that built the model ({built}); copy '
                'rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so of that (or a newer) '
                'rknn-toolkit2 release to /usr/lib, or rebuild the model with the toolkit '
                'matching the board; (2) target platform: rebuild with '
                f"rknn.config(target_platform='{r.soc or '<this SoC>'}'); (3) core mask: "
                f"RKNNLite takes '{self.core_mask}' only on RK3588/RK3576 (others: 'auto'). "
                "The runtime printed the exact cause above (lines 'E ...').")

    @staticmethod
    def _inference(rknn, tensor):
        # reuse_outputs stays False: decoded results may outlive the next call.
        return rknn.inference(inputs=[tensor])

    def infer(self, tensor):
        if self._rknn is None:
            raise RuntimeError(f'rknn backend for {self.path} is closed')
        try:
            outputs = self._inference(self._rknn, tensor)
        except Exception as exc:     # noqa: B902 - the vendor code raises anything
            raise RuntimeError(f'RKNNLite.inference raised {type(exc).__name__} for '
                               f'{self.path}: {exc}') from exc
        if outputs is None:
            raise RuntimeError(f'RKNNLite.inference returned None for {self.path} (input '
                               f'{tuple(np.shape(tensor))} {np.asarray(tensor).dtype}, model '
                               f'input {self.input_shape} uint8); the runtime logged the cause '
                               "('E ...' lines)")
        return outputs

    def close(self) -> None:
        rknn, self._rknn = self._rknn, None
        if rknn is not None:
            rknn.release()

    def describe(self) -> str:
        notes = ''.join(f'; note: {n.what}' for n in self.notes)
        return (f'{super().describe()}, core_mask {self.core_mask}; '
                f'{self.report.summary()}{notes}')
