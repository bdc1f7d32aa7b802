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
``edge-perception verify --target rdk_x5`` (or ``--bin``): the RDK int8 build against fp32.

The fp32 ONNX runs in ONNX Runtime; the build's quantized ONNX (hb_mapper makertbin's
``*_quantized_model.onnx``) in the toolchain's ``HB_ONNXRuntime`` through the rdk_sim backend,
fed NV12 exactly as the board is. Both get the same letterbox and the same decoder, and the
report, flags and JSON are the RKNN side's (``verify._compare``). Then the ``.bin`` itself: its
BPU program runs in ``hbdk-sim`` on the first images (``bin_images``) and its outputs must
equal the quantized ONNX's bit for bit (a .bin with int16 nodes: within 1 float32 ulp, its
Dequantize rounds apart), else the error flag ``bin_mismatch``. Without ``--bin``
the ONNX is converted first (``rdk_convert``, into a temporary folder, at ``optimize`` O0).

Outputs are paired by name, not by position: hb_mapper may list a build's outputs in another
order than the float ONNX (``optimization: bias_correction`` does). Only when the names are
not the same set are they paired by position, and the warning ``outputs_by_position`` says so.
"""

import os
import tempfile
import time
from typing import List, Optional, Sequence
import warnings

import numpy as np

from . import rdk_toolchain
from .verify import _compare, Flag, VerifyResult
from ..errors import ModelLoadError
from ..image_sets import validation_images


def quantized_onnx_for(bin_path: str) -> str:
    """Return the ``<prefix>_quantized_model.onnx`` hb_mapper wrote beside a .bin."""
    prefix = os.path.splitext(os.path.abspath(bin_path))[0]
    path = prefix + '_quantized_model.onnx'
    if not os.path.isfile(path):
        raise ModelLoadError(f'{path} not found: verify runs the quantized ONNX that hb_mapper '
                             f'makertbin writes beside {os.path.basename(bin_path)}; give the '
                             'folder convert wrote, or leave --bin out to build one')
    return path


def output_order(reference: Sequence[str], names: Sequence[str]) -> Optional[List[int]]:
    """
    Return, for each ``reference`` output name, the index of that output among ``names``.

    None when the names are not the same set (no pairing by name is possible); the caller
    then pairs by position, which needs as many outputs.
    """
    reference, names = list(reference), list(names)
    if len(set(names)) == len(names) == len(reference) and set(names) == set(reference):
        return [names.index(name) for name in reference]
    if len(names) != len(reference):
        raise ModelLoadError(f'the build has {len(names)} outputs ({", ".join(names)}), the '
                             f'float ONNX {len(reference)} ({", ".join(reference)}): they are '
                             'not the same model')
    return None


def onnx_output_names(path: str) -> List[str]:
    """Return the graph output names of an ONNX file, in order."""
    import onnx
    return [o.name for o in onnx.load(path, load_external_data=False).graph.output]


class _InOrder:
    """A backend whose outputs are given in another order (``order[i]``: the i-th one's index)."""

    def __init__(self, backend, order: Sequence[int], names: Sequence[str]):
        self._backend, self.order, self.output_names = backend, list(order), list(names)
        self.output_shapes = [backend.output_shapes[i] for i in self.order]

    def infer(self, tensor):
        outputs = self._backend.infer(tensor)
        return [outputs[i] for i in self.order]

    def __getattr__(self, name):
        return getattr(self._backend, name)


def _ulp_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Return the largest distance in float32 units in the last place (1 << 31 if not float)."""
    if a.dtype != np.float32 or np.asarray(b).dtype != np.float32:
        return 0 if np.array_equal(a, b) else 1 << 31
    ia = a.view(np.int32).astype(np.int64)
    ib = np.ascontiguousarray(b).view(np.int32).astype(np.int64)
    # map the sign-magnitude bit patterns onto one ordered integer line
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return int(np.max(np.abs(ia - ib))) if ia.size else 0


def bin_check(bin_path: str, backend, model, pictures, count: int = 1) -> dict:
    """Run the .bin in hbdk-sim on ``count`` pictures; compare with the quantized ONNX."""
    from ..backends.rdk_sim_io import read_bin, simulate_bin
    from ..preprocess import preprocess
    info = read_bin(bin_path)
    names = getattr(backend, 'output_names', None)
    order = output_order(names, [o['name'] for o in info['outputs']]) if names else None
    worst, exact, ulp, started = 0.0, True, 0, time.perf_counter()
    for picture in pictures[:count]:
        nv12, _ = preprocess(picture, model.input_spec)
        simulated = simulate_bin(bin_path, nv12, info)
        simulated = [simulated[i] for i in order] if order else simulated
        onnx_outputs = backend.infer(nv12)
        for a, b in zip(simulated, onnx_outputs):
            b = np.asarray(b)
            same = a.shape == b.shape and np.array_equal(a, b)
            exact = exact and same
            if a.shape == b.shape:
                worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b))))
                ulp = max(ulp, _ulp_distance(a, b))
            else:
                worst, ulp = float('inf'), 1 << 31
    return {'images': min(count, len(pictures)), 'bit_exact': bool(exact),
            'max_abs_diff': worst, 'max_ulp': int(ulp),
            'seconds': round(time.perf_counter() - started, 2),
            'march': info['march'], 'versions': info['versions']}


# What to do on the RDK side (the shared flags name RKNN options: mmse, --hybrid).
RDK_FIX = ('calibrate on more images like the deployment (hb_mapper takes 20-100), try '
           '--algorithm kl_divergence or --hybrid auto (int16 nodes), and check that the '
           "card's input.yuv_range is the range the camera delivers (README, RDK)")


def _rdk_fixes(flags) -> None:
    """Replace the RKNN-specific fixes of the accuracy flags by the RDK ones."""
    for flag in flags:
        if flag.code in ('low_cosine', 'low_agreement', 'no_detections'):
            flag.message = flag.message.split(' Fix: ')[0] + ' Fix: ' + RDK_FIX


def _node_analysis(bin_path: str) -> dict:
    """Return the per-node table of the makertbin log beside a .bin (``rdk_layers``)."""
    from .rdk_layers import analysis
    log = os.path.join(os.path.dirname(os.path.abspath(bin_path)), 'hb_mapper_makertbin.log')
    if not os.path.isfile(log):
        raise ModelLoadError(f"--per-layer reads hb_mapper makertbin's per-node table from "
                             f'{log}, which does not exist: give the .bin in the folder '
                             'convert wrote, or leave --bin out to build one')
    data = analysis(log)
    data['log'] = os.path.basename(log)
    return data


def verify_rdk(model_path: str, images: str, target: str = 'rdk_x5',
               bin_path: Optional[str] = None, labels: Optional[str] = None, calibration=None,
               algorithm: str = 'normal', method: str = 'channel', confidence: float = 0.25,
               progress: bool = True, optimize: str = 'O0', bin_images: int = 1,
               per_layer: bool = False) -> VerifyResult:
    """
    Compare the fp32 ONNX with its RDK int8 build (quantized ONNX, then the .bin).

    per_layer: add hb_mapper makertbin's per-node cosine table (``rdk_layers``), read from the
    build's log beside the .bin.
    """
    from tqdm import tqdm

    from ..backends.rdk_sim_backend import RdkSimulatorBackend
    from ..decoders import DecodeOptions, FAMILIES
    from ..model import load_model, Model
    from ..spec import spec_for

    rdk_toolchain.require()
    paths, pictures = validation_images(images)
    options = DecodeOptions(confidence_threshold=confidence)
    with tempfile.TemporaryDirectory(prefix='edge_perception-rdk-verify-') as folder:
        build_seconds = None
        if bin_path is None:
            if target not in rdk_toolchain.MARCHES:
                raise ModelLoadError(f'target {target!r}: verify builds RDK models for '
                                     f'{", ".join(rdk_toolchain.MARCHES)}')
            from .rdk_convert import convert_rdk_toolchain
            built = convert_rdk_toolchain(model_path, target, calibration, algorithm, method,
                                          os.path.join(folder, 'build'), optimize=optimize)
            bin_path, build_seconds = built.output, built.build_seconds
            # the card convert updated lives in the temporary folder: nothing to keep
        else:
            from ..backends.rdk_sim_io import read_bin
            march = read_bin(bin_path)['march']
            target = rdk_toolchain.TARGET_BY_MARCH.get(march, target)
        quantized = quantized_onnx_for(bin_path)
        reference = load_model(model_path, backend='onnxruntime',
                               confidence_threshold=confidence)
        backend = RdkSimulatorBackend(quantized)
        try:
            from .build_source import build_source
            names = onnx_output_names(build_source(model_path).onnx)
            built_names = onnx_output_names(quantized)
            order = output_order(names, built_names)
            paired = _InOrder(backend, order or range(len(names)),
                              names if order else built_names)
            spec = spec_for(model_path)
            simulated = Model(spec, paired, options)
            result = VerifyResult(model=os.path.abspath(model_path), target=target,
                                  dtype='int8', algorithm=algorithm, method=method,
                                  layout=simulated.binding.layout.name, images=len(pictures),
                                  build_seconds=build_seconds,
                                  size_bytes=os.path.getsize(bin_path),
                                  bin_file=None if bin_path.startswith(folder) else
                                  os.path.abspath(bin_path))
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)
                _compare(result, reference, simulated, pictures, paths, labels, options,
                         FAMILIES, tqdm if progress else None)
            result.bin_check = bin_check(bin_path, paired, simulated, pictures, bin_images)
            if order is None:
                result.flags.append(Flag(
                    'outputs_by_position', 'warn',
                    f'the build\'s outputs ({", ".join(built_names)}) are not named as the '
                    f'float ONNX\'s ({", ".join(names)}): they were compared by position. '
                    'Fix: build from this ONNX file'))
            if per_layer:
                result.layer_analysis = _node_analysis(bin_path)
            _rdk_fixes(result.flags)
        finally:
            reference.close()
            backend.close()
    # a .bin with int16 nodes: hbdk-sim's Dequantize may round 1 float32 ulp apart from the
    # quantized ONNX (seen on the fall model's class outputs); anything more is a mismatch
    if not result.bin_check['bit_exact'] and result.bin_check['max_ulp'] > 1:
        result.flags.append(Flag(
            'bin_mismatch', 'error',
            f'the .bin run in hbdk-sim differs from its quantized ONNX (max abs difference '
            f'{result.bin_check["max_abs_diff"]:.4g}): the compiled model is not the one '
            'verified. Fix: convert again with the same toolchain version, and report it to '
            'D-Robotics with both files'))
    return result
