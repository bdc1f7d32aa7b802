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
PC validation of an RKNN build: an ONNX model quantised by rknn-toolkit2 and run in its simulator.

It shows what the int8 (or fp16) model will detect before a board is flashed. The flow is the
toolkit's own: ``RKNN.config`` (normalisation baked in, target SoC), ``load_onnx``, ``build``
(int8: calibrated on images letterboxed exactly as this package's pre-processing does),
``init_runtime()`` without a target (the simulator), then ``inference`` on NHWC uint8 RGB.
The simulator returns dequantised float outputs. x86_64 PCs only (rknn-toolkit2 wheels), in
the tools environment (``scripts/setup_tools_env.sh``); a build takes seconds to ~20 s.
"""

import contextlib
import shutil
import sys
import tempfile
import time
from typing import Iterable, Optional
import warnings

import numpy as np

from . import BACKENDS
from .base import Backend
from ..affinity import pinned
from ..errors import BackendUnavailableError, ModelLoadError
from ..image_sets import calibration_images, write_rknn_dataset
from ..preprocess import InputSpec, letterbox, tuple3

__all__ = ('calibration_images', 'RknnSimulatorBackend')

# target_platform values rknn-toolkit2 2.x accepts (RKNPU2 SoCs).
TARGETS = ('rk3588', 'rk3576', 'rk3568', 'rk3566', 'rk3562', 'rk2118', 'rv1103', 'rv1103b',
           'rv1106', 'rv1106b', 'rv1126b')
DTYPES = {'int8': True, 'fp16': False, 'float16': False}     # -> build(do_quantization=...)
OPTIONS = ('mean', 'std', 'pad_value', 'interpolation')
# build(...) quantisation settings rknn-toolkit2 2.x accepts (config quantized_algorithm/method).
ALGORITHMS = ('normal', 'mmse', 'kl_divergence')
METHODS = ('channel', 'layer')


def _toolkit_message(exc: BaseException) -> str:
    """Return the last line of a toolkit error (its ValueErrors carry a whole traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _onnx_input(path: str):
    """(input name, (H, W), metadata) of an ONNX image model, read with the onnx package."""
    import onnx
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ModelLoadError(f'{path} is not a readable ONNX model: {exc}') from None
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ModelLoadError(f'{path} has {len(inputs)} inputs; image models have one')
    dims = [d.dim_value if d.HasField('dim_value') else -1
            for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[1] != 3 or min(dims[2:]) <= 0:
        raise ModelLoadError(f'{path}: input {inputs[0].name} has shape {dims}; the rknn_sim '
                             'backend needs a static (1, 3, H, W) image input. Fix: export the '
                             'ONNX with a fixed image size (ultralytics: imgsz=640, '
                             'dynamic=False)')
    metadata = {p.key: p.value for p in model.metadata_props}
    return inputs[0].name, (dims[2], dims[3]), metadata


@contextlib.contextmanager
def _toolkit_output():
    """Keep the toolkit's Python prints off stdout and its import-time warnings quiet."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
        # rknn-toolkit2 2.5 calls onnx.mapping, deprecated in onnx 1.13+ (thousands a build).
        warnings.filterwarnings('ignore', category=DeprecationWarning, module='rknn')
        with contextlib.redirect_stdout(sys.stderr):
            yield


class RknnSimulatorBackend(Backend):
    """
    An ONNX model built by rknn-toolkit2 for ``target`` and run in the toolkit's simulator.

    path: the ONNX model (static (1, 3, H, W) input). target: the SoC to build for (TARGETS).
    dtype: 'int8' (quantised, calibrated) or 'fp16'.
    calibration: images for int8 calibration (see ``calibration_images``); default:
    scikit-image's sample pictures. They are letterboxed like the runtime does (pad_value,
    interpolation) and written as temporary PNG files for the toolkit, removed after the build.
    toolkit_auto_hybrid: False, or True (int8 only): rknn-toolkit2's own automatic hybrid
    quantisation, ``build(auto_hybrid=True)``, which keeps layers whose int8 cosine falls below
    its threshold in float16, unverified. It is not ``edge-perception convert --hybrid auto``
    (the search of float16 layers verified against fp32, tools/rknn_hybrid.py). The old
    spelling ``hybrid='auto'`` is refused with that explanation (its name said the CLI's search).
    algorithm, method: int8 calibration (``config(quantized_algorithm=, quantized_method=)``):
    'normal', 'mmse' or 'kl_divergence'; per 'channel' or per 'layer' weights.
    options: mean, std (per channel, 0-255 units; default the YOLO convention 0 and 255),
    baked into the built model as the card's input normalisation must be; pad_value (114);
    interpolation of the calibration letterbox (the card's, default 'linear').
    threads: the simulator has no thread setting (0 or 1 only).
    cpu_affinity: CPU ids the build and the simulator run on.
    builder: None, or ``builder(rknn, dataset)`` called after ``config`` instead of
    ``load_onnx`` + ``build`` (the toolchain's hybrid builds: ``hybrid_quantization_step2``);
    it raises, or returns the toolkit's status (0: built).
    """

    name = 'rknn_sim'
    card_input_options = OPTIONS
    vendor = 'rknn'

    def __init__(self, path: str, threads: int = 0, cpu_affinity: Optional[Iterable[int]] = None,
                 target: str = 'rk3588', dtype: str = 'int8', calibration=None,
                 toolkit_auto_hybrid: bool = False, algorithm: str = 'normal',
                 method: str = 'channel', builder=None, hybrid=None, **options):
        super().__init__()
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f'backend rknn_sim has no options {unknown} (it takes threads, '
                             'cpu_affinity, target, dtype, calibration, toolkit_auto_hybrid, '
                             'algorithm, '
                             f'method, {", ".join(OPTIONS)})')
        if int(threads) not in (0, 1):
            raise ValueError(f'threads={threads}: the rknn-toolkit2 simulator has no thread '
                             'setting (0 or 1 only)')
        self.target = str(target).lower()
        if self.target not in TARGETS:
            raise ValueError(f'target {target!r} is not a platform rknn-toolkit2 builds for; '
                             f'use one of {", ".join(TARGETS)}')
        if dtype not in DTYPES:
            raise ValueError(f'dtype {dtype!r} is not one of int8, fp16')
        self.dtype = 'int8' if DTYPES[dtype] else 'fp16'
        if hybrid is not None:
            raise ValueError(
                f'backend rknn_sim option hybrid={hybrid!r} is gone: its name said '
                "'edge-perception convert --hybrid auto' (our float16 layer search, verified "
                "against fp32) but it ran rknn-toolkit2's own build(auto_hybrid=True). Use "
                "toolkit_auto_hybrid=True for the toolkit's, or the CLI's --hybrid auto|LAYER,... "
                '(tools.rknn_build.simulated_build) for the verified search or named layers')
        if not isinstance(toolkit_auto_hybrid, bool):
            raise ValueError(f'toolkit_auto_hybrid={toolkit_auto_hybrid!r}: True or False')
        if toolkit_auto_hybrid and self.dtype != 'int8':
            raise ValueError('toolkit_auto_hybrid applies to dtype int8 only')
        self.toolkit_auto_hybrid = toolkit_auto_hybrid
        if algorithm not in ALGORITHMS or method not in METHODS:
            raise ValueError(f'algorithm {algorithm!r} / method {method!r}: use one of '
                             f'{", ".join(ALGORITHMS)} / {", ".join(METHODS)}')
        self.algorithm, self.method = algorithm, method
        self.mean = tuple3(options.get('mean', 0.0), 'mean')
        self.std = tuple3(options.get('std', 255.0), 'std')
        self.pad_value = int(options.get('pad_value', 114))
        self.interpolation = str(options.get('interpolation', 'linear')).lower()
        InputSpec(mean=self.mean, std=self.std, pad_value=self.pad_value,
                  interpolation=self.interpolation)   # validate
        try:
            with _toolkit_output():
                from rknn.api import RKNN
        except ImportError as exc:
            raise BackendUnavailableError(
                f'backend rknn_sim needs the Python package rknn ({exc}). '
                f'Fix: {BACKENDS["rknn_sim"][2]}') from None
        self.path = path
        _, (height, width), self.metadata = _onnx_input(path)
        self.input_shape = (1, height, width, 3)
        self.input_dtype = 'uint8'
        images = calibration_images(calibration) if self.dtype == 'int8' else []
        # letterboxed here with the card's interpolation; the dataset writer's own letterbox
        # then leaves these input-sized images as they are
        images = [letterbox(image, width, height, self.pad_value,
                            interpolation=self.interpolation)[0] for image in images]
        self._rknn = None
        workdir = tempfile.mkdtemp(prefix='edge_perception-rknn_sim-')
        rknn = None
        try:
            with _toolkit_output(), pinned(cpu_affinity):
                rknn = RKNN(verbose=False)
                dataset = write_rknn_dataset(images, workdir, width, height,
                                             self.pad_value) if images else None
                started = time.perf_counter()
                self._build(rknn, dataset, toolkit_auto_hybrid, builder)
                #: Seconds rknn-toolkit2's config + load_onnx + build took.
                self.build_seconds = time.perf_counter() - started
                self._run(rknn.init_runtime(), 'init_runtime() (the simulator)')
                outputs = rknn.inference(inputs=[np.zeros(self.input_shape, np.uint8)],
                                         data_format='nhwc')
            if outputs is None:
                raise ModelLoadError(f'{path}: the rknn-toolkit2 simulator returned no outputs '
                                     'for a zero image; it logged the cause above')
            self.output_shapes = [tuple(np.shape(o)) for o in outputs]
            self._check_head()
        except BaseException:
            if rknn is not None:
                rknn.release()
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self._rknn = rknn

    def _check_head(self) -> None:
        """Warn when an int8 build has the one-tensor ultralytics head (its scores die)."""
        if self.dtype == 'int8' and len(self.output_shapes) == 1 and \
                len(self.output_shapes[0]) == 3:
            warnings.warn(
                f'{self.path}: int8 build of a single-output head {self.output_shapes[0]} (the '
                'standard ultralytics export): box pixels and 0-1 class scores share one int8 '
                'tensor, and rknn-toolkit2 typically quantises every score to 0 (no '
                'detections). Fix: export the RKNN split head (per stride box DFL, sigmoid '
                "cls, score_sum; airockchip/ultralytics_yolov8) or use dtype 'fp16' "
                '(toolkit_auto_hybrid does not rescue it)', RuntimeWarning, stacklevel=3)

    def _run(self, ret, what: str) -> None:
        if ret != 0:
            raise ModelLoadError(f'rknn-toolkit2 {what} returned {ret} for {self.path} '
                                 f'({self.dtype}, {self.target}); it logged the cause above '
                                 "(lines 'E ')")

    def _build(self, rknn, dataset: Optional[str], auto_hybrid: bool, builder=None) -> None:
        """Run config, load_onnx and build; toolkit errors become one-line ModelLoadErrors."""
        step = 'config'
        try:
            self._run(rknn.config(mean_values=[list(self.mean)], std_values=[list(self.std)],
                                  target_platform=self.target,
                                  quantized_algorithm=self.algorithm,
                                  quantized_method=self.method), step)
            if builder is not None:
                step = f'build ({self.dtype}, {getattr(builder, "name", "custom")})'
                self._run(builder(rknn, dataset), step)
                return
            step = 'load_onnx'
            self._run(rknn.load_onnx(model=self.path), step)
            step = f'build ({self.dtype})'
            self._run(rknn.build(do_quantization=self.dtype == 'int8', dataset=dataset,
                                 auto_hybrid=auto_hybrid), step)
        except ModelLoadError:
            raise
        except Exception as exc:  # the toolkit raises ValueError/IndexError/... with a traceback
            raise ModelLoadError(f'rknn-toolkit2 {step} failed for {self.path} ({self.dtype}, '
                                 f'{self.target}): {_toolkit_message(exc)}') from None

    def infer(self, tensor):
        if self._rknn is None:
            raise RuntimeError(f'rknn_sim backend for {self.path} is closed')
        with _toolkit_output():
            outputs = self._rknn.inference(inputs=[tensor], data_format='nhwc')
        if outputs is None:
            raise RuntimeError(f'rknn-toolkit2 simulator inference failed for {self.path}; it '
                               'logged the cause above')
        return outputs

    @property
    def toolkit(self):
        """Return the toolkit's ``RKNN`` object (built, simulator started), e.g. for analysis."""
        if self._rknn is None:
            raise RuntimeError(f'rknn_sim backend for {self.path} is closed')
        return self._rknn

    def export(self, path: str) -> str:
        """Write the built model as a .rknn file (``export_rknn``); return the path."""
        if self._rknn is None:
            raise RuntimeError(f'rknn_sim backend for {self.path} is closed')
        with _toolkit_output():
            ret = self._rknn.export_rknn(path)
        self._run(ret, f'export_rknn({path})')
        return path

    def close(self) -> None:
        if self._rknn is not None:
            self._rknn.release()
            self._rknn = None

    def describe(self) -> str:
        return (f'{self.name} ({self.dtype} {self.target}, rknn-toolkit2 simulator) input '
                f'{tuple(self.input_shape)} {self.input_dtype}')
