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
Copyright and licence headers.

On a ROS install ament_copyright runs as in every ament_python package. ament_copyright has no
PyPI wheel, so where it is missing (the pip-based dev/CI environment) the same requirement is
checked directly: every Python file starts with a copyright line and the Apache-2.0 notice.
"""

import glob
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = [os.path.join(ROOT, p) for p in ('edge_perception', 'test', 'launch', 'setup.py')]


def python_files():
    files = []
    for path in PATHS:
        files += glob.glob(os.path.join(path, '**', '*.py'), recursive=True) \
            if os.path.isdir(path) else [path]
    return sorted(files)


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright():
    if importlib.util.find_spec('ament_copyright') is not None:
        from ament_copyright.main import main
        assert main(argv=PATHS + ['--exclude', 'placeholder']) == 0, 'copyright/licence errors'
        return
    missing = []
    for path in python_files():
        with open(path, encoding='utf-8') as f:
            head = ''.join(f.readline() for _ in range(15))
        if not head.strip():        # empty files (package markers) carry no header, as in ament
            continue
        if 'Copyright' not in head or 'Apache License, Version 2.0' not in head:
            missing.append(os.path.relpath(path, ROOT))
    assert python_files() and not missing, f'files without the Apache-2.0 header: {missing}'
