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
"""Import hook that serves the stand-ins under the names of the vendor's compiled modules."""

import importlib.abc
import importlib.util
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
VENDOR = os.path.join(REPO_ROOT, '.vendor', 'rknn-toolkit-lite2')
VENDOR_API = os.path.join(VENDOR, 'rknnlite', 'api', 'rknn_lite.py')

STANDINS = {'rknnlite.api.rknn_runtime': 'runtime.py',
            'rknnlite.api.rknn_log': 'log.py',
            'rknnlite.api.rknn_platform_utils': 'platform_utils.py',
            'rknnlite.api.npu_config.cpu_npu_mapper': 'cpu_npu_mapper.py'}


class StandinFinder(importlib.abc.MetaPathFinder):
    """Find the four compiled modules of rknnlite as the stand-in files; nothing else."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in STANDINS:
            return None
        return importlib.util.spec_from_file_location(
            fullname, os.path.join(HERE, STANDINS[fullname]))


def forget_rknnlite() -> None:
    """Drop every imported rknnlite module (the next import starts from the files again)."""
    for name in [m for m in sys.modules if m == 'rknnlite' or m.startswith('rknnlite.')]:
        del sys.modules[name]


def vendor_missing_message() -> str:
    """Return why the real rknn_lite.py is not there and how to get it, or '' when it is."""
    if os.path.isfile(VENDOR_API):
        return ''
    return (f'{VENDOR_API} is missing: the RKNN contract tests run the real rknn_lite.py of '
            'rknn-toolkit-lite2 2.5.0. Run scripts/fetch_vendor_wheels.sh (setup_env.sh runs '
            'it) to download and unpack the wheel into .vendor/')


def activate(monkeypatch, machine: str = 'aarch64') -> None:
    """
    Make ``import rknnlite`` load the real package with the stand-in helpers, for one test.

    ``machine`` is what ``platform.machine()`` reports meanwhile (the real ``init_runtime``
    runs only where it says aarch64 or armv7l); None leaves this machine's answer.
    """
    forget_rknnlite()
    monkeypatch.syspath_prepend(VENDOR)
    finder = StandinFinder()
    monkeypatch.setattr(sys, 'meta_path', [finder] + list(sys.meta_path))
    if machine is not None:
        monkeypatch.setattr(platform, 'machine', lambda: machine)
