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
The NV12 colour range, from the hb_mapper build to the frames fed: the toolchain as the oracle.

Two real X5 builds of the square detector at O0 by the CLI: hb_mapper's default
(``input_space_and_range: regular``, the model decodes full-range BT.601) and ``--yuv-range
video`` (``bt601_video``). Each records its range
in the .bin (the mapper's own metadata), its quantized ONNX (``HzPreprocess``) and the card;
a BGR frame and a camera NV12 frame in that range then give, through the quantized model in
the toolchain's HB_ONNXRuntime, the detections and scores fp32 ONNX Runtime gives. Fed in the
other range, the scores move far more than the tolerance (why the range must be right).
"""

import dataclasses

from edge_perception import load_model
from edge_perception.backends.rdk_sim_io import read_bin
from edge_perception.preprocess import Nv12Frame
from edge_perception.tools.rdk_calibration import runtime_nv12
from edge_perception.tools.verify import iou
import numpy as np
import onnx
import pytest
import yaml

from .cli_helpers import run_cli
from .rdk_models import square_scene

SQUARES = [('red', 64, 64, 16), ('white', 320, 320, 64), ('red', 448, 128, 32)]
RANGES = {'full': ('regular', 'YUV_BT601_FULL_RANGE_128'),
          'video': ('bt601_video', 'YUV_BT601_VIDEO_RANGE_128')}


@pytest.fixture(params=sorted(RANGES))
def build(request, built, built_video):
    """Each of the two builds with its range."""
    return request.param, (built if request.param == 'full' else built_video)


def _preprocess_type(quantized: str) -> str:
    proto = onnx.load(quantized)
    (node,) = [n for n in proto.graph.node if 'Preprocess' in n.op_type]
    return next(onnx.helper.get_attribute_value(a).decode() for a in node.attribute
                if a.name == 'input_type')


def test_the_bin_its_quantized_onnx_and_the_card_record_the_range(build):
    yuv_range, paths = build
    space, hz_type = RANGES[yuv_range]
    info = read_bin(paths['bin'])
    assert (info['input_space_and_range'], info['yuv_range']) == (space, yuv_range)
    assert _preprocess_type(paths['quantized']) == hz_type
    with open(paths['card'], encoding='utf-8') as f:
        assert yaml.safe_load(f)['input']['yuv_range'] == yuv_range
    with open(paths['hb'] / 'rdk_square_x5_hb_mapper.yaml', encoding='utf-8') as f:
        config = yaml.safe_load(f)
    assert config['input_parameters']['input_space_and_range'] == space


def test_yuv_range_is_refused_for_targets_without_an_nv12_range(built):
    status, out = run_cli('convert', built['onnx'], '--target', 'rk3588', '--yuv-range', 'video')
    assert status == 2 and '--yuv-range: rk3588 takes no NV12 range' in out, out


def _compare(reference, simulated, scale=1.0):
    """Return the largest score difference of matched detections (all must match)."""
    assert len(reference) == len(simulated) == len(SQUARES)
    worst = 0.0
    for i in range(len(simulated)):
        box = simulated.xyxy[i] * scale
        j = int(np.argmax([iou(box, b) for b in reference.xyxy]))
        assert iou(box, reference.xyxy[j]) > 0.9
        assert simulated.names[i] == reference.names[j]
        worst = max(worst, abs(float(simulated.confidence[i]) - float(reference.confidence[j])))
    return worst


def test_a_bgr_and_a_camera_nv12_frame_give_the_fp32_detections(build):
    yuv_range, paths = build
    scene = square_scene(SQUARES)
    camera = Nv12Frame(runtime_nv12(scene, 320, 320, 114, yuv_range=yuv_range), 320, 320)
    with load_model(paths['card'], backend='onnxruntime') as fp32, \
            load_model(paths['card'], backend='rdk_sim') as int8:
        assert int8.input_spec.yuv_range == yuv_range and int8.input_spec.color == 'nv12'
        assert int8.backend.input_yuv_range == yuv_range     # what HzPreprocess decodes
        reference = fp32(scene)
        assert _compare(reference, int8(scene)) < 0.03                # bgr8
        assert _compare(reference, int8(camera), scale=2.0) < 0.03    # nv12 of the input size
        # the same frame in the other range: the model reads other colours
        other = 'video' if yuv_range == 'full' else 'full'
        int8.input_spec = dataclasses.replace(int8.input_spec, yuv_range=other)
        wrong = int8.predict(scene)[0]
    scores = [float(wrong.confidence[np.argmax([iou(b, r) for b in wrong.xyxy])])
              if len(wrong) else 0.0 for r in reference.xyxy]
    assert np.max(np.abs(np.array(scores) - reference.confidence)) > 0.1
