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
Fixtures of the rdk suite: one real RDK X5 build of the square detector, shared by its tests.

``built`` runs ``edge-perception convert --target rdk_x5 --optimize O0`` (the real hb_mapper
checker and makertbin) once per session on ``rdk_models.write_rdk_square_model``, calibrated on
six generated square scenes, and gives the folder, the ONNX, the card, the .bin and the
quantized ONNX. ``built_video`` is the same model built for video-range NV12
(``convert --yuv-range video``: ``input_space_and_range: bt601_video``), calibrated on the same
scenes.
"""

import pytest

from .cli_helpers import run_cli, write_scenes
from .rdk_models import random_scenes, write_rdk_square_model


def _build_square(tmp_path_factory, name, *options):
    """Convert the square detector for rdk_x5 at O0 with ``options``; its paths and output."""
    folder = tmp_path_factory.mktemp(name)
    model = write_rdk_square_model(folder / 'rdk_square.onnx')
    calib = write_scenes(folder / 'calib', random_scenes(6))
    status, out = run_cli('convert', model, '--target', 'rdk_x5', '--calib', calib,
                          '--optimize', 'O0', *options)
    assert status == 0, out
    hb = folder / 'rdk_square_x5_hb'
    return {'folder': folder, 'onnx': model, 'card': str(folder / 'rdk_square.yaml'),
            'bin': str(hb / 'rdk_square_x5.bin'),
            'quantized': str(hb / 'rdk_square_x5_quantized_model.onnx'), 'hb': hb, 'out': out}


@pytest.fixture(scope='session')
def built(tmp_path_factory):
    """Convert the square detector for rdk_x5 at O0; return its paths and the CLI output."""
    return _build_square(tmp_path_factory, 'rdk_build')


@pytest.fixture(scope='session')
def built_video(tmp_path_factory):
    """Convert the square detector for rdk_x5 at O0 with ``--yuv-range video``; its paths."""
    return _build_square(tmp_path_factory, 'rdk_build_video', '--yuv-range', 'video')
