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
The package builds and installs with colcon like any ament_python package.

The installed detector_node runs from the install space (ROS convention: lib/<package>).
"""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_ITEMS = ('package.xml', 'setup.py', 'setup.cfg', 'resource', 'edge_perception',
                 'launch', 'config', 'models')


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    if shutil.which('colcon') is None:
        pytest.fail('colcon is not installed: run scripts/setup_env.sh')
    ws = tmp_path_factory.mktemp('ws')
    src = ws / 'src' / 'edge_perception'
    src.mkdir(parents=True)
    for item in PACKAGE_ITEMS:
        path = os.path.join(ROOT, item)
        if os.path.isdir(path):
            shutil.copytree(path, src / item,
                            # *.so: the in-place builds of the dev venvs; colcon builds its own
                            ignore=shutil.ignore_patterns('__pycache__', '*.egg-info', '*.so'))
        else:
            shutil.copy(path, src / item)
    result = subprocess.run(
        ['colcon', 'build', '--base-paths', str(ws / 'src'), '--build-base', str(ws / 'build'),
         '--install-base', str(ws / 'install'), '--event-handlers', 'console_cohesion-'],
        cwd=ws, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return ws / 'install' / 'edge_perception'


def test_install_space_layout(installed):
    share = installed / 'share'
    assert (installed / 'lib' / 'edge_perception' / 'detector_node').is_file()
    assert (installed / 'lib' / 'edge_perception' / 'edge-perception').is_file()
    assert (share / 'ament_index' / 'resource_index' / 'packages' / 'edge_perception').is_file()
    assert (share / 'edge_perception' / 'package.xml').is_file()
    assert (share / 'edge_perception' / 'config' / 'models' / 'fall_detection.yaml').is_file()
    assert (share / 'edge_perception' / 'launch' / 'detector.launch.py').is_file()


def test_colcon_builds_the_decoder_kernels(installed, tmp_path):
    site = next((installed / 'lib').glob('python3*/site-packages'))
    assert list((site / 'edge_perception').glob('_native*.so'))
    result = subprocess.run(
        [sys.executable, '-c', 'import edge_perception.native as n; print(n.KERNELS.__file__)'],
        env=dict(os.environ, PYTHONPATH=str(site)), cwd=tmp_path, capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith(str(site)), result.stderr


def test_installed_detector_node_runs_and_reports_a_missing_model(installed, tmp_path):
    site = next((installed / 'lib').glob('python3*/site-packages'))
    env = dict(os.environ, PYTHONPATH=str(site), ROS_LOG_DIR=str(tmp_path))
    missing = tmp_path / 'missing.onnx'
    result = subprocess.run(
        [sys.executable, str(installed / 'lib' / 'edge_perception' / 'detector_node'),
         '--ros-args', '-p', f'model:={missing}'],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert str(missing) in result.stderr and 'Traceback' not in result.stderr
