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
Build the square detector's RDK X5 .bin (O0) and write what the .bin declares as JSON.

Usage (in the rdk environment, from the repository): ``.venv-rdk/bin/python -m
test.rdk_tools.make_bin_info test/data/rdk_square_x5_bin_info.json``. The .bin itself (~270
kB) is not kept; its input and output properties, read with the toolchain's own schema
(``rdk_sim_io.read_bin``, as ``hb_model_info`` reads it), are what the RDK backend's contract
tests hold the fakes against.
"""

import json
import os
import sys
import tempfile

from edge_perception.backends.rdk_sim_io import read_bin
from edge_perception.tools.rdk_convert import convert_rdk_toolchain

from .rdk_models import random_scenes, write_rdk_square_model

CALIBRATION_SCENES = 6


def build(folder: str) -> str:
    """Write the square model into ``folder`` and build its X5 .bin at O0; return the .bin."""
    model = write_rdk_square_model(os.path.join(folder, 'rdk_square.onnx'))
    result = convert_rdk_toolchain(model, 'rdk_x5', random_scenes(CALIBRATION_SCENES),
                                   output=os.path.join(folder, 'rdk_square_x5_hb'),
                                   optimize='O0')
    return result.output


def main(target: str) -> None:
    """Build the .bin in a temporary folder and write its properties to ``target``."""
    with tempfile.TemporaryDirectory(prefix='rdk_square-') as folder:
        info = read_bin(build(folder))
    info['built_by'] = ('python -m test.rdk_tools.make_bin_info: write_rdk_square_model (320x320, '
                        '2 classes), convert --target rdk_x5 --optimize O0, calibration '
                        f'random_scenes({CALIBRATION_SCENES})')
    with open(target, 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=1)
        f.write('\n')
    print(f'wrote {target}')


if __name__ == '__main__':
    main(sys.argv[1])
