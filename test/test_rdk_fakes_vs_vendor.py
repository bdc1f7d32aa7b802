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
The RDK fakes held against the vendors' real artifacts, on every run.

pyeasy_dnn: the API is read from the real aarch64 ``pyeasy_dnn.so`` (hobot-dnn-rdkx5 3.0.6) by
test/pyext_elf_api.py: PyMethodDef / PyGetSetDef tables, the format and keyword arrays handed
to PyArg_ParseTupleAndKeywords with their defaults, the exceptions each C function sets and
what it returns then. hbm_runtime: the API is parsed with ``ast`` from the real type stub
``HB_HBMRuntime.pyi`` and ``__init__.py`` (hbm-runtime 0.1.0.post1), its error texts are the
strings of ``HB_HBMRuntime.so``. Everything the fakes expose must exist in the real packages
with the same signature, and fail the same way.
"""

import ast
import importlib
import inspect
import os
import re
import sys

import numpy as np
import pytest

from . import pyext_elf_api as elfapi
from .test_rdk_backend import _forget_fakes, fake_model, FAKES, fakes  # noqa: F401

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENDOR = os.path.join(REPO, '.vendor')
PYEASY_SO = os.path.join(VENDOR, 'hobot-dnn-rdkx5', 'hobot_dnn_rdkx5', 'pyeasy_dnn.so')
HBM_DIR = os.path.join(VENDOR, 'hbm-runtime', 'hbm_runtime')
# What CPython API a getter builds its result with says the Python type of the value.
CONSTRUCTOR_TYPES = {'PyTuple_New': tuple, 'PyLong_FromVoidPtr': int, 'PyLong_FromLong': int,
                     'PyUnicode_FromString': str, 'PyUnicode_DecodeUTF8': str,
                     'PyList_New': list}


def _vendor(path: str) -> str:
    if not os.path.exists(path):
        pytest.fail(f'{path} is missing: run scripts/fetch_vendor_wheels.sh (it unpacks the '
                    'vendor wheels into .vendor/)')
    return path


@pytest.fixture(scope='module')
def real_pyeasy():
    return elfapi.read_api(_vendor(PYEASY_SO))


@pytest.fixture
def fake_pyeasy(fakes):  # noqa: F811
    return importlib.import_module('hobot_dnn.pyeasy_dnn')


@pytest.fixture
def fake_hbm(fakes, monkeypatch):  # noqa: F811
    monkeypatch.delenv('FAKE_HBM_RUNTIME_LIBS', raising=False)
    return importlib.import_module('hbm_runtime')


def _public(obj) -> dict:
    return {k: v for k, v in vars(obj).items() if not k.startswith('_')}


def _c_signature(real: dict, elf, function: str, flags: int):
    """(name, required, default) per parameter of a C method, from the binary."""
    names = elfapi.flag_names(flags)
    if 'METH_NOARGS' in names:
        return []
    assert 'METH_KEYWORDS' in names, f'{function}: flags {names} (only keyword methods here)'
    args = elfapi.arguments(elf, function)
    assert args is not None, f'{function} calls no PyArg_ParseTupleAndKeywords'
    return [(a['name'], not a['optional'], a['default']) for a in args['args']]


def _py_signature(func, method: bool):
    params = list(inspect.signature(func).parameters.values())[1 if method else 0:]
    for p in params:
        assert p.kind == p.POSITIONAL_OR_KEYWORD, f'{func.__qualname__}: {p} is {p.kind}'
    return [(p.name, p.default is p.empty, None if p.default is p.empty else p.default)
            for p in params]


def test_the_reader_sees_the_whole_pyeasy_dnn_api(real_pyeasy):
    # A floor, so a reader that finds nothing cannot pass the comparisons below vacuously.
    (module,) = real_pyeasy['modules']
    assert [m['name'] for m in module['methods']] == ['load']
    assert set(real_pyeasy['types']) == {'Model', 'pyDNNTensor', 'TensorProperties'}
    args = elfapi.arguments(real_pyeasy['elf'], 'Model_forward')
    assert args['format'] == 'O|ii' and args['keyword_symbol'].endswith('keywords')


def test_pyeasy_dnn_module_functions_match_the_binary(real_pyeasy, fake_pyeasy):
    elf = real_pyeasy['elf']
    real = {m['name']: m for m in real_pyeasy['modules'][0]['methods']}
    functions = {k: v for k, v in _public(fake_pyeasy).items() if inspect.isfunction(v)}
    assert set(functions) == set(real)
    for name, func in functions.items():
        assert _py_signature(func, method=False) == \
            _c_signature(real, elf, real[name]['function'], real[name]['flags']), name


def test_pyeasy_dnn_classes_match_the_binary(real_pyeasy, fake_pyeasy):
    elf = real_pyeasy['elf']
    classes = {k: v for k, v in _public(fake_pyeasy).items() if inspect.isclass(v)
               and v.__module__ == 'dnnpy'}
    assert set(classes) == set(real_pyeasy['types'])
    for attr, cls in classes.items():
        real = real_pyeasy['types'][attr]
        assert f'{cls.__module__}.{cls.__name__}' == real['tp_name']
        getset = {g['name']: g for g in real['getset']}
        methods = {m['name']: m for m in real['methods']}
        members = _public(cls)
        assert set(members) == set(getset) | set(methods), attr
        for name, member in members.items():
            if name in getset:
                assert isinstance(member, property), f'{attr}.{name} must be a property'
                assert (member.fset is None) == (getset[name]['setter'] is None), name
            else:
                assert inspect.isfunction(member), f'{attr}.{name} must be a method'
                assert _py_signature(member, method=True) == _c_signature(
                    real, elf, methods[name]['function'], methods[name]['flags']), name


def _value_types(real_pyeasy) -> dict:
    out = {}
    for attr, real in real_pyeasy['types'].items():
        for g in real['getset']:
            made = elfapi.callees(real_pyeasy['elf'], g['getter']) & set(CONSTRUCTOR_TYPES)
            kinds = {CONSTRUCTOR_TYPES[c] for c in made}
            if kinds & {tuple, list}:          # a container of the ints / strings made
                kinds &= {tuple, list}
            if len(kinds) == 1:
                out[(attr, g['name'])] = kinds.pop()
    return out


def test_pyeasy_dnn_property_values_have_the_binary_s_types(real_pyeasy, fake_pyeasy,
                                                            tmp_path):
    kinds = _value_types(real_pyeasy)
    # The facts the backend once got wrong: alignedShape / validShape are ints, shape a tuple.
    assert kinds[('TensorProperties', 'alignedShape')] is int
    assert kinds[('TensorProperties', 'validShape')] is int
    assert kinds[('TensorProperties', 'shape')] is tuple
    assert kinds[('Model', 'inputs')] is list and kinds[('Model', 'outputs')] is list
    fake_model(tmp_path, 'model.bin', int32_boxes=True)
    (model,) = fake_pyeasy.load(str(tmp_path / 'model.bin'))
    objects = {'Model': [model], 'pyDNNTensor': model.inputs + model.outputs,
               'TensorProperties': [t.properties for t in model.inputs + model.outputs]}
    checked = 0
    for (attr, name), kind in kinds.items():
        for obj in objects[attr]:
            assert type(getattr(obj, name)) is kind, f'{attr}.{name}: {getattr(obj, name)!r}'
            checked += 1
    assert checked >= 40


def test_pyeasy_dnn_buffer_dtypes_are_the_binary_s(real_pyeasy, fake_pyeasy):
    # buffer_2_pyarray tail-calls buffer_2_numpy with a NumPy type number in w2.
    elf = real_pyeasy['elf']
    numbers = set()
    code = elf.code('buffer_2_pyarray')
    for (pc, insn), (_, nxt) in zip(code, code[1:]):
        op, after = elfapi.decode(insn, pc), elfapi.decode(nxt, pc + 4)
        if op and op[0] == 'movz' and op[1] == 2 and after and after[0] == 'b':
            numbers.add(op[2])
        if op and op[0] == 'mov' and op[1] == 2 and after and after[0] == 'b':
            numbers.add(1)          # "mov w2, w3" after "mov w3, #1": the default, NPY_BYTE
    by_number = {np.dtype(c).num: np.dtype(c) for c in 'bhilqBHILQefd'}
    real = {by_number[n] for n in numbers}
    fake = {np.dtype(d) for d in fake_pyeasy.BUFFER_DTYPES.values()} | {np.dtype(np.int8)}
    assert real == fake == {np.dtype(t) for t in ('float32', 'int32', 'int16', 'int8')}


def _real_errors(real_pyeasy, function: str) -> set:
    sites = elfapi.error_sites(real_pyeasy['elf'], function)
    return {(s['exception'][len('PyExc_'):], s['message']) for s in sites
            if s['returns'] == 'None'}


def _cause(error) -> tuple:
    assert isinstance(error.value, SystemError), error.value
    cause = error.value.__cause__
    return type(cause).__name__, str(cause)


def test_pyeasy_dnn_fails_the_way_the_binary_does(real_pyeasy, fake_pyeasy, tmp_path):
    elf = real_pyeasy['elf']
    forward, load = _real_errors(real_pyeasy, 'Model_forward'), \
        _real_errors(real_pyeasy, 'Dnnpy_load')
    assert ('RuntimeError', 'forward execution failed.') in forward
    # create_and_load_model sets RuntimeError and returns NULL; load then returns None.
    loading = {(s['exception'][len('PyExc_'):], s['message'])
               for s in elfapi.error_sites(elf, 'create_and_load_model')}
    assert elfapi.on_null_from(elf, 'Dnnpy_load', 'create_and_load_model') == 'None'
    fake_model(tmp_path, 'model.bin', bpu_cores=1)
    (model,) = fake_pyeasy.load(str(tmp_path / 'model.bin'))
    nv12 = np.zeros(320 * 480, np.uint8)
    for call in (lambda: model.forward(nv12, bogus=1), lambda: model.forward(nv12, 'x'),
                 lambda: model.forward([nv12, 'not an array']),
                 lambda: model.forward(nv12, core_id=5), lambda: model.forward(nv12, 0, 300),
                 lambda: model.forward([nv12, nv12])):
        with pytest.raises(SystemError) as error:
            call()
        assert _cause(error) in forward, _cause(error)
    for call in (lambda: fake_pyeasy.load(3), lambda: fake_pyeasy.load(('a.bin',)),
                 lambda: fake_pyeasy.load([str(tmp_path / 'model.bin'), 3])):
        with pytest.raises(SystemError) as error:
            call()
        assert _cause(error) in load, _cause(error)
    (tmp_path / 'broken.bin').write_bytes(b'\0not a model')
    with pytest.raises(SystemError) as error:
        fake_pyeasy.load(str(tmp_path / 'broken.bin'))
    assert _cause(error) in loading, _cause(error)


# -- hbm_runtime ---------------------------------------------------------------------------------

def _stub():
    """{class: {'defs': {name: [FunctionDef]}, 'fields': set}} of HB_HBMRuntime.pyi."""
    with open(_vendor(os.path.join(HBM_DIR, 'HB_HBMRuntime.pyi')), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    classes = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            entry = classes[node.name] = {'defs': {}, 'fields': set()}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    entry['defs'].setdefault(item.name, []).append(item)
                elif isinstance(item, ast.AnnAssign):
                    entry['fields'].add(item.target.id)
    return classes


def _decorators(node) -> set:
    return {d.id if isinstance(d, ast.Name) else d.attr for d in node.decorator_list}


def _stub_params(node) -> list:
    a = node.args
    plain = a.posonlyargs + a.args
    defaults = [None] * (len(plain) - len(a.defaults)) + a.defaults
    out = [(p.arg, 'positional', d is not None) for p, d in zip(plain, defaults)]
    if a.vararg:
        out.append((a.vararg.arg, 'var_positional', False))
    out += [(p.arg, 'keyword_only', d is not None) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        out.append((a.kwarg.arg, 'var_keyword', False))
    return out


def _fake_params(func) -> list:
    kinds = {inspect.Parameter.POSITIONAL_ONLY: 'positional',
             inspect.Parameter.POSITIONAL_OR_KEYWORD: 'positional',
             inspect.Parameter.VAR_POSITIONAL: 'var_positional',
             inspect.Parameter.KEYWORD_ONLY: 'keyword_only',
             inspect.Parameter.VAR_KEYWORD: 'var_keyword'}
    return [(p.name, kinds[p.kind], p.default is not p.empty)
            for p in inspect.signature(func).parameters.values()]


def _real_all() -> list:
    with open(_vendor(os.path.join(HBM_DIR, '__init__.py')), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '__all__':
            return [e.value for e in node.value.elts]
    raise AssertionError('no __all__ in hbm_runtime/__init__.py')


def test_hbm_runtime_fake_matches_the_type_stub(fake_hbm):
    stub = _stub()
    assert set(_real_all()) == set(stub) == {
        k for k, v in _public(fake_hbm).items() if inspect.isclass(v)
        and v.__module__ == fake_hbm.__name__}
    checked = 0
    for name, spec in stub.items():
        cls = getattr(fake_hbm, name)
        if issubclass(cls, int):                       # the enums: their member names
            assert set(cls.__members__) == spec['fields'], name
            continue
        assert set(getattr(cls, '__annotations__', {})) <= spec['fields'] | set(spec['defs'])
        own_init = '__init__' in vars(cls)
        assert own_init == ('__init__' in spec['defs']), f'{name}.__init__'
        members = {k: v for k, v in vars(cls).items() if not k.startswith('_')}
        if own_init:
            members['__init__'] = vars(cls)['__init__']
        for attr, member in members.items():
            defs = spec['defs'].get(attr, [])
            if isinstance(member, property):
                assert any('property' in _decorators(d) for d in defs), f'{name}.{attr}'
            elif isinstance(member, staticmethod):
                assert any('staticmethod' in _decorators(d) for d in defs), f'{name}.{attr}'
                assert any(_stub_params(d) == _fake_params(member.__func__) for d in defs)
            else:
                assert inspect.isfunction(member), f'{name}.{attr}'
                real = [_stub_params(d) for d in defs if 'overload' not in _decorators(d)
                        or attr == '__init__']
                assert _fake_params(member) in real, (f'{name}.{attr}', _fake_params(member),
                                                      real)
            checked += 1
        for attr, defs in spec['defs'].items():        # and nothing of the stub is missing
            assert attr in members or attr == '__init__', f'{name}.{attr} missing in the fake'
    assert checked >= 20


def _so_strings() -> list:
    with open(_vendor(os.path.join(HBM_DIR, 'HB_HBMRuntime.so')), 'rb') as f:
        data = f.read()
    return [s.decode() for s in re.findall(rb'[\x20-\x7e]{3,}', data)]


def _assert_made_of_vendor_text(message: str, variables, strings) -> None:
    ordered = sorted(map(str, variables), key=len, reverse=True)
    pattern = '|'.join(re.escape(v) for v in ordered)
    pieces = [p.strip(' "\'()[]:,.') for p in re.split(pattern, message)]
    for piece in pieces:
        if piece:
            assert any(piece in s for s in strings), (piece, message)


def test_hbm_runtime_fake_fails_with_runtime_errors_worded_as_the_binary(fake_hbm, tmp_path):
    strings = _so_strings()
    fake_model(tmp_path, 'model.hbm')
    path = str(tmp_path / 'model.hbm')
    runtime = fake_hbm.HB_HBMRuntime(path)
    (name,) = runtime.model_names
    good = {'images_y': np.zeros((1, 320, 320, 1), np.uint8),
            'images_uv': np.zeros((1, 160, 160, 2), np.uint8)}
    (tmp_path / 'model.bin').write_text('x')
    cases = [
        (lambda: fake_hbm.HB_HBMRuntime(str(tmp_path / 'missing.hbm')),
         [tmp_path / 'missing.hbm']),
        (lambda: fake_hbm.HB_HBMRuntime(str(tmp_path / 'model.bin')), [tmp_path / 'model.bin']),
        (lambda: fake_hbm.HB_HBMRuntime([]), []),
        (lambda: runtime.set_scheduling_params(bpu_cores={name: [-1]}), [name, -1]),
        (lambda: runtime.set_scheduling_params(bpu_cores={name: [4]}), [name, 4]),
        (lambda: runtime.set_scheduling_params(bpu_cores={'other': [0]}), ['other']),
        (lambda: runtime.set_scheduling_params(priority={name: 256}), [name, 256]),
        (lambda: runtime.set_scheduling_params(priority={'other': 1}), ['other']),
        (lambda: runtime.run(np.zeros(10, np.uint8)), [name, 2]),
        (lambda: runtime.run(dict(good, images_y=good['images_y'].astype(np.float32))),
         [name, 'images_y', 'B', 'f']),
        (lambda: runtime.run(dict(good, images_uv=good['images_uv'][0])),
         [name, 'images_uv', 3, 4]),
        (lambda: runtime.run(dict(good, images_uv=good['images_uv'][:, :80])),
         [1, 80, 160]),
        (lambda: runtime.run({'images_y': good['images_y']}), [name]),
        (lambda: runtime.run(dict(good, extra=good['images_y'])), [name, 'extra']),
        (lambda: runtime.run({'other': good}), ['other']),
        (lambda: runtime.run(good, model_name=3), []),
        (lambda: runtime.run(good, model_name='other'), ['other']),
    ]
    for call, variables in cases:
        with pytest.raises(RuntimeError) as error:
            call()
        assert type(error.value) is RuntimeError
        _assert_made_of_vendor_text(str(error.value), variables, strings)
    assert len(runtime.run(good)[name]) == 6


def _import_check():
    """Read what the real __init__.py checks at import: libraries, skip variable, raise."""
    with open(_vendor(os.path.join(HBM_DIR, '__init__.py')), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    libs = skip = raised = None
    called = {n.value.func.id for n in tree.body if isinstance(n, ast.Expr)
              and isinstance(n.value, ast.Call) and isinstance(n.value.func, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == \
                '_REQUIRED_LIBS':
            libs = [k.value for k in node.value.keys]
        if isinstance(node, ast.FunctionDef) and node.name in called:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and getattr(sub.func, 'attr', '') == 'get' \
                        and isinstance(sub.args[0], ast.Constant):
                    skip = sub.args[0].value
                if isinstance(sub, ast.Raise):
                    raised = (sub.exc.func.id, _first_constant(sub.exc))
    return libs, skip, raised


def _first_constant(node) -> str:
    found = [(sub.lineno, sub.col_offset, sub.value) for sub in ast.walk(node)
             if isinstance(sub, ast.Constant) and isinstance(sub.value, str)]
    assert found, 'no message'
    return min(found)[2]


def test_hbm_runtime_import_fails_like_the_real_package(fakes, monkeypatch):  # noqa: F811
    libs, skip, (exc_name, first) = _import_check()
    assert libs == ['libhbucp.so', 'libdnn.so'] and skip == 'HBM_RUNTIME_SKIP_CHECK'
    assert exc_name == 'RuntimeError'
    monkeypatch.setenv('FAKE_HBM_RUNTIME_LIBS', 'missing')
    with pytest.raises(RuntimeError) as error:
        importlib.import_module('hbm_runtime')
    assert str(error.value).startswith(first)
    assert all(lib in str(error.value) for lib in libs)
    sys.modules.pop('hbm_runtime', None)
    monkeypatch.setenv(skip, '1')
    assert importlib.import_module('hbm_runtime').HB_HBMRuntime
    _forget_fakes()
