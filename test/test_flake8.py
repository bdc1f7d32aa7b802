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
ament_flake8 over the package, as ament_python packages run it (ament's flake8 config).

flake8 checks files in a multiprocessing pool by default; forked from a pytest process whose
rclpy/DDS threads are running, its workers crashed in garbage collection on Python 3.10 (the
Humble phase) and the pool respawned them for ever. ament's own config plus ``jobs = 1``
checks in this process instead: the same rules, no fork.
"""

import os

import ament_flake8
from ament_flake8.main import main_with_errors
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = [os.path.join(ROOT, p) for p in ('edge_perception', 'test', 'launch', 'setup.py')]


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8(tmp_path):
    ament_config = os.path.join(os.path.dirname(ament_flake8.__file__), 'configuration',
                                'ament_flake8.ini')
    config = tmp_path / 'flake8.ini'
    with open(ament_config) as f:
        config.write_text(f.read().rstrip() + '\njobs = 1\n')
    rc, errors = main_with_errors(argv=['--config', str(config)] + PATHS)
    assert rc == 0, f'Found {len(errors)} code style errors / warnings:\n' + '\n'.join(errors)
