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
The rknn_sim backend calibrates on images letterboxed with the card's interpolation.

Runs in the tools environment (real rknn-toolkit2). The calibration files the toolkit would
read are captured as they are written, then the build is stopped (it is not what is tested
here): each must equal OpenCV's resize with the card's interpolation plus the 114 border.
"""

import cv2
from edge_perception import load_model
from edge_perception.backends import rknn_sim_backend
import numpy as np
import pytest
import yaml

from .split_head import write_square_model

pytest.importorskip('rknn.api', reason='needs rknn-toolkit2: run in .venv-tools '
                                       '(bash scripts/setup_tools_env.sh)')


class _Captured(Exception):
    """Raised once the calibration files are read back, to skip the build."""


def _picture(height, width):
    rng = np.random.default_rng(7)
    noise = rng.random((24, 24, 3), dtype=np.float32) * 255
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.uint8)


@pytest.mark.parametrize('written, flag', [(None, cv2.INTER_LINEAR), ('area', cv2.INTER_AREA),
                                           ('nearest', cv2.INTER_NEAREST)])
def test_calibration_images_use_the_cards_interpolation(tmp_path, monkeypatch, written, flag):
    model = write_square_model(tmp_path / 'squares.onnx')        # 320x320 input
    card = {'name': 'squares', 'files': {'rknn_sim': model}}
    if written:
        card['input'] = {'interpolation': written}
    (tmp_path / 'card.yaml').write_text(yaml.safe_dump(card))
    picture = _picture(450, 600)                                  # -> 320x240, 40 px bands
    expected = cv2.copyMakeBorder(cv2.resize(picture, (320, 240), interpolation=flag),
                                  40, 40, 0, 0, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    # a scale of 8/15, where linear, area and nearest all give other pixels
    others = [cv2.resize(picture, (320, 240), interpolation=f) for f in
              (cv2.INTER_LINEAR, cv2.INTER_AREA, cv2.INTER_NEAREST) if f != flag]
    assert all(np.count_nonzero(o != expected[40:280]) > 1000 for o in others)
    seen = []
    real_writer = rknn_sim_backend.write_rknn_dataset

    def capture(*args, **kwargs):
        dataset = real_writer(*args, **kwargs)
        with open(dataset, encoding='utf-8') as f:
            seen.extend(cv2.imread(line.strip()) for line in f if line.strip())
        raise _Captured()

    monkeypatch.setattr(rknn_sim_backend, 'write_rknn_dataset', capture)
    with pytest.raises(_Captured):
        load_model(str(tmp_path / 'card.yaml'), backend='rknn_sim',
                   backend_options={'dtype': 'int8', 'calibration': [picture]})
    assert len(seen) == 1 and seen[0].shape == expected.shape
    assert np.array_equal(seen[0], expected), \
        f'{np.count_nonzero(seen[0] != expected)} calibration pixel values differ'
