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
The code must run on ROS 2 Humble's Python 3.10.

The dev environment is Python 3.11, so syntax newer than 3.10 (``except*``, ...) would pass
every other test; ruff, told the target is py310, reports it as a syntax error. (3.11-only
stdlib names such as ``tomllib`` are not caught here: reviews keep them out.)
"""

import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_sources_parse_as_python_3_10():
    ruff = shutil.which('ruff')
    assert ruff, 'ruff is not installed: run scripts/setup_env.sh'
    result = subprocess.run(
        [ruff, 'check', '--isolated', '--target-version', 'py310', '--select', 'E9,F821',
         '--output-format', 'concise', 'edge_perception', 'test', 'launch', 'setup.py'],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
