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
The runtime package never imports the model toolchain (``edge_perception.tools``), not even lazily.

Every ``import`` / ``from ... import`` anywhere in a module outside ``edge_perception/tools``
(module level, inside functions and methods, under ``if``/``try``), absolute or relative, and
``importlib.import_module`` / ``__import__`` with a literal name, is resolved to the module it
names; none may be ``edge_perception.tools`` or below it. The one exception is the CLI, whose
``convert`` / ``verify`` / ``report`` / ``export`` commands are the toolchain's entry points.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, 'edge_perception')
TOOLS = 'edge_perception.tools'
# module -> why it may import the toolchain (lazily)
ALLOWED = {'edge_perception.cli': 'the convert/verify/report/export commands run the toolchain'}


def _module_name(path: str) -> str:
    relative = os.path.relpath(path, ROOT)[:-len('.py')].split(os.sep)
    return '.'.join(relative[:-1] if relative[-1] == '__init__' else relative)


def _package_of(module: str, path: str) -> str:
    return module if os.path.basename(path) == '__init__.py' else module.rpartition('.')[0]


def imported_modules(source: str, module: str, path: str):
    """Yield (line, module name) for every import in ``source``, relative ones resolved."""
    package = _package_of(module, path)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - node.level + 1])
                target = f'{base}.{node.module}' if node.module else base
            else:
                target = node.module or ''
            yield node.lineno, target
            for alias in node.names:          # from edge_perception import tools
                yield node.lineno, f'{target}.{alias.name}'
        elif isinstance(node, ast.Call) and node.args and \
                isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', '')
            if name in ('import_module', '__import__'):
                yield node.lineno, node.args[0].value


def _is_tools(name: str) -> bool:
    return name == TOOLS or name.startswith(TOOLS + '.')


def toolchain_imports(source: str, module: str, path: str):
    """Return the lines of ``source`` that import edge_perception.tools (or a module in it)."""
    return sorted({line for line, name in imported_modules(source, module, path)
                   if _is_tools(name)})


def _runtime_modules():
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(files):
            path = os.path.join(folder, name)
            module = _module_name(path)
            if name.endswith('.py') and not _is_tools(module):
                yield module, path


def test_no_runtime_module_imports_the_toolchain_anywhere():
    modules = list(_runtime_modules())
    assert len(modules) > 50, f'only {len(modules)} runtime modules found under {PACKAGE}'
    assert 'edge_perception.backends.rdk_sim_backend' in dict(modules)
    offenders = []
    for module, path in modules:
        with open(path, encoding='utf-8') as f:
            lines = toolchain_imports(f.read(), module, path)
        if lines and module not in ALLOWED:
            offenders += [f'{os.path.relpath(path, ROOT)}:{line}' for line in lines]
    assert not offenders, ('runtime modules import edge_perception.tools (move what they need '
                           f'to the runtime side): {offenders}')


def test_the_allowed_exceptions_still_exist_and_still_need_it():
    """An exception that no longer imports the toolchain is dropped from ALLOWED."""
    for module in ALLOWED:
        path = os.path.join(ROOT, *module.split('.')) + '.py'
        with open(path, encoding='utf-8') as f:
            assert toolchain_imports(f.read(), module, path), f'{module}: drop it from ALLOWED'


BACKEND = os.path.join(PACKAGE, 'backends', 'rdk_sim_backend.py')


@pytest.mark.parametrize('source', [
    'def load():\n    from ..tools.rdk_bin import read_bin\n',
    'class B:\n    def run(self):\n        if True:\n            from ..tools import rdk_bin\n',
    'def f():\n    from .. import tools\n',
    'def f():\n    import edge_perception.tools.convert\n',
    'from edge_perception import tools\n',
    'try:\n    pass\nexcept ImportError:\n    from edge_perception.tools.verify import iou\n',
    'import importlib\nm = importlib.import_module("edge_perception.tools.rdk_verify")\n',
])
def test_a_toolchain_import_in_any_form_is_found(source):
    assert toolchain_imports(source, 'edge_perception.backends.rdk_sim_backend', BACKEND) != []


@pytest.mark.parametrize('source', [
    'from .rdk_sim_io import read_bin\n',
    'from ..image_sets import calibration_images\n',
    'def f():\n    from ..preprocess import preprocess\n',
    'import tools\n',
])
def test_runtime_imports_are_not_taken_for_toolchain_ones(source):
    assert toolchain_imports(source, 'edge_perception.backends.rdk_sim_backend', BACKEND) == []
