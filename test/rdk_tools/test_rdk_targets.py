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
Which RDK boards the PyPI toolchain builds for, found by running it (rdk_x5: test_rdk_build).

RDK X3 (bernoulli2) and RDK Ultra (bayes) compile to a .bin here as X5 (bayes-e) does; the
checker refuses the RDK S100's nash-e, so rdk_s100 keeps the config-writing path (its compiler,
hb_compile, is in D-Robotics' OpenExplorer docker image only).
"""

from edge_perception.backends.rdk_sim_io import read_bin
import pytest
import yaml

from .cli_helpers import run_cli, write_scenes
from .rdk_models import random_scenes, write_rdk_square_model


@pytest.mark.parametrize('target, soc, march', [('rdk_x3', 'x3', 'bernoulli2'),
                                                ('rdk_ultra', 'ultra', 'bayes')])
def test_x3_and_ultra_compile_to_a_bin_here(tmp_path, target, soc, march):
    model = write_rdk_square_model(tmp_path / 'sq.onnx')
    calib = write_scenes(tmp_path / 'calib', random_scenes(2))
    status, out = run_cli('convert', model, '--target', target, '--calib', calib,
                          '--optimize', 'O0')
    assert status == 0, out
    binary = tmp_path / f'sq_{soc}_hb' / f'sq_{soc}.bin'
    info = read_bin(str(binary))
    assert info['march'] == march and f'march {march}' in out
    assert info['inputs'][0]['tensor_type'] == 'NV12'
    assert (tmp_path / f'sq_{soc}_hb' / f'sq_{soc}_quantized_model.onnx').is_file()


def test_the_checker_refuses_the_s100_march(tmp_path):
    from edge_perception.errors import ModelLoadError
    from edge_perception.tools import rdk_toolchain
    model = write_rdk_square_model(tmp_path / 'sq.onnx')
    with pytest.raises(ModelLoadError, match=r"'nash-e' is not one of 'bernoulli2', 'bayes', "
                                             r"'bayes-e'"):
        rdk_toolchain.check_model(model, 'nash-e', str(tmp_path / 'check'))


def test_rdk_s100_still_writes_the_hb_compile_config(tmp_path):
    model = write_rdk_square_model(tmp_path / 'sq.onnx')
    calib = write_scenes(tmp_path / 'calib', random_scenes(2))
    status, out = run_cli('convert', model, '--target', 'rdk_s100', '--calib', calib)
    assert status == 0, out
    assert 'OpenExplorer docker' in out and 'hb_compile --config' in out
    with open(tmp_path / 'sq_s100_hb' / 'sq_s100_hb_compile.yaml', encoding='utf-8') as f:
        assert yaml.safe_load(f)['model_parameters']['march'] == 'nash-e'
    status, out = run_cli('convert', model, '--target', 'rdk_s100', '--optimize', 'O0')
    assert status != 0 and 'built in the vendor docker' in out
