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
Start-up version check of the Rockchip NPU stack: model file, librknnrt, NPU driver, SoC.

The most reported RKNN failure is a version mismatch: a .rknn built by one rknn-toolkit2
version, run by an older librknnrt.so ("Invalid RKNN model version 6"), or built for another
SoC. Rockchip's rule: librknnrt must be at least the version of the toolkit that built the
model; a newer librknnrt runs older models (only noted, level 'info'), an older one is an
error. This module reads each piece from where it lives and says which one to update:

- the .rknn file: a header (``RKNN`` magic, 4 more bytes, the file format version and the size
  of the model blob as little-endian uint64 at bytes 8 and 16), the model blob, then a
  length-prefixed JSON that names ``target_platform`` and the toolkit ``version`` (e.g.
  ``"2.5.0"``) and the input/output tensor sizes. The blob starts at byte 24 when the format
  version is below 2 and at byte 64 otherwise (``RKNNModel.parse_data`` of RKNN-Toolkit Lite2
  2.5.0 reads it so; rknn-toolkit2 2.5.0 writes format version 6);
- librknnrt: ``RKNNLite.get_sdk_version()`` after ``init_runtime`` (``API:`` line), before that
  the ``librknnrt version: X.Y.Z`` string inside the library file;
- the NPU driver: ``get_sdk_version()`` (``DRV:`` line), or the debugfs/procfs version file
  (``RKNPU driver: vX.Y.Z``; debugfs needs root, so unreadable is a warning);
- the SoC: ``/proc/device-tree/compatible`` (``rockchip,rk3588`` ...).

Every path is a parameter (``SystemPaths``) so tests and containers can point elsewhere.
"""

from dataclasses import dataclass, field
import json
import os
import re
import struct
from typing import List, Optional, Sequence, Tuple

from ..boards import compatible_entries
from ..errors import ModelLoadError

RKNN_MAGIC = b'RKNN'
HEADER_SIZE = 64            # where the model blob starts from file format version 2 on
OLD_HEADER_SIZE = 24        # ... and below format version 2

# NPU cores per SoC (RK3588/RK3588S 3, RK3576 2, the others 1).
NPU_CORES = {'rk3588': 3, 'rk3576': 2, 'rk3562': 1, 'rk3566': 1, 'rk3568': 1, 'rv1126b': 1,
             'rv1103': 1, 'rv1106': 1, 'rv1103b': 1, 'rv1106b': 1}
# SoCs sharing one NPU run each other's models (list_support_target_platform reports
# ['RK3566', 'RK3568'] for a model built for rk3566).
SAME_NPU = (frozenset({'rk3566', 'rk3568'}),)
# Core masks that put one model on several cores; RK3588 needs NPU driver >= 0.9 for them.
MULTI_CORE_MASKS = frozenset({'0_1', '0_1_2', 'all'})
MIN_MULTI_CORE_DRIVER = (0, 9, 0)
LEVELS = ('ok', 'info', 'warn', 'error')


@dataclass(frozen=True)
class SystemPaths:
    """Where the board describes itself; the first readable file of each tuple is used."""

    compatible: str = '/proc/device-tree/compatible'
    driver_version: Tuple[str, ...] = ('/sys/kernel/debug/rknpu/version',
                                       '/sys/kernel/debug/rknpu/driver_version',
                                       '/proc/debug/rknpu/driver_version')
    runtime_library: Tuple[str, ...] = ('/usr/lib/librknnrt.so', '/usr/lib64/librknnrt.so',
                                        '/usr/lib/aarch64-linux-gnu/librknnrt.so',
                                        '/usr/local/lib/librknnrt.so')


DEFAULT_PATHS = SystemPaths()


@dataclass(frozen=True)
class Finding:
    """One result of the check: level 'ok', 'info', 'warn' or 'error', what, how to fix it."""

    level: str
    what: str
    fix: str = ''

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f'finding level {self.level!r} is not one of {LEVELS}')

    def __str__(self) -> str:
        return f'{self.level}: {self.what}' + (f' Fix: {self.fix}' if self.fix else '')


@dataclass
class RknnFileInfo:
    """What a .rknn file says about itself (fields are empty when its JSON is unreadable)."""

    format_version: Optional[int] = None
    toolkit_version: Optional[str] = None
    target_platforms: Tuple[str, ...] = ()
    input_shapes: List[Tuple[int, ...]] = field(default_factory=list)
    output_shapes: List[Tuple[int, ...]] = field(default_factory=list)
    note: str = ''


@dataclass
class VersionReport:
    """Every version the check found, where it came from, and the findings."""

    model: str
    toolkit_version: Optional[str] = None
    model_platforms: Tuple[str, ...] = ()
    runtime_version: Optional[str] = None
    runtime_source: str = ''
    driver_version: Optional[str] = None
    driver_source: str = ''
    soc: Optional[str] = None
    core_mask: str = 'auto'
    findings: List[Finding] = field(default_factory=list)

    @property
    def errors(self) -> List[Finding]:
        return [f for f in self.findings if f.level == 'error']

    @property
    def warnings(self) -> List[Finding]:
        return [f for f in self.findings if f.level == 'warn']

    @property
    def notes(self) -> List[Finding]:
        return [f for f in self.findings if f.level == 'info']

    def summary(self) -> str:
        """One line: toolkit (target), librknnrt, driver, SoC, core mask."""
        def known(value):
            return value or 'unknown'
        platforms = ','.join(self.model_platforms) or 'unknown target'
        return (f'model built by rknn-toolkit2 {known(self.toolkit_version)} for {platforms}; '
                f'librknnrt {known(self.runtime_version)}; NPU driver '
                f'{known(self.driver_version)}; SoC {known(self.soc)}; core_mask {self.core_mask}')

    def error_message(self) -> str:
        """One line naming every error finding and its fix, or '' when there is none."""
        if not self.errors:
            return ''
        return (f'{self.model}: the RKNN stack on this board cannot run this model: '
                + ' '.join(f'{f.what} Fix: {f.fix}' for f in self.errors)
                + f' [{self.summary()}]')


def parse_version(text: Optional[str]) -> Optional[Tuple[int, int, int]]:
    """Return (major, minor, patch) of the first X.Y.Z in ``text`` ('2.3.2-source_code')."""
    match = re.search(r'(\d+)\.(\d+)\.(\d+)', text or '')
    return tuple(int(g) for g in match.groups()) if match else None


def _short_version(text: Optional[str]) -> Optional[str]:
    match = re.search(r'\d+\.\d+\.\d+(?:b\d+)?', text or '')
    return match.group(0) if match else None


def normalise_soc(name: str) -> str:
    """Return a SoC or target platform name in the check's spelling ('RK3588S' -> 'rk3588')."""
    name = name.strip().lower()
    if name not in NPU_CORES and name[:-1] in NPU_CORES and name[-1:].isalpha():
        name = name[:-1]
    return name


def detect_soc(path: str = DEFAULT_PATHS.compatible) -> Optional[str]:
    """Return the Rockchip SoC named by a device-tree compatible file, or None."""
    try:
        entries = compatible_entries(path)
    except OSError:
        return None
    for entry in entries:
        match = re.match(r'rockchip,(r[kv]\d{4}[a-z]?)', entry)
        if match:
            return normalise_soc(match.group(1))
    return None


def npu_cores(soc: Optional[str]) -> Optional[int]:
    """Return the NPU core count of a SoC, or None when unknown."""
    return NPU_CORES.get(normalise_soc(soc)) if soc else None


def same_npu(platform: str, soc: str) -> bool:
    """Tell whether a model built for ``platform`` runs on ``soc``."""
    platform, soc = normalise_soc(platform), normalise_soc(soc)
    return platform == soc or any({platform, soc} <= group for group in SAME_NPU)


def data_offset(format_version: int) -> int:
    """Return where the model blob of a .rknn file starts (24 below format version 2, else 64)."""
    return HEADER_SIZE if format_version >= 2 else OLD_HEADER_SIZE


def read_rknn_info(path: str) -> RknnFileInfo:
    """
    Read the header and embedded JSON of a .rknn file.

    A file that is not an RKNN model raises ModelLoadError; a readable header whose JSON
    cannot be parsed gives an RknnFileInfo with empty fields and the reason in ``note``.
    """
    try:
        with open(path, 'rb') as f:
            header = f.read(HEADER_SIZE)
            if len(header) < 24 or header[:4] != RKNN_MAGIC:
                raise ModelLoadError(f'{path} is not an RKNN model (no RKNN magic at the start); '
                                     'convert the ONNX file with rknn-toolkit2 (export_rknn)')
            format_version, blob = struct.unpack('<QQ', header[8:24])
            f.seek(data_offset(format_version) + blob)
            length = f.read(8)
            info = RknnFileInfo(format_version=format_version)
            if len(length) < 8:
                info.note = 'no JSON after the model blob'
                return info
            size = struct.unpack('<Q', length)[0]
            text = f.read(size) if size <= 16 * 1024 * 1024 else b''
    except OSError as exc:
        raise ModelLoadError(f'cannot read RKNN model {path}: {exc}') from None
    try:
        meta = json.loads(text.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        info.note = 'the JSON after the model blob is unreadable'
        return info
    info.toolkit_version = str(meta['version']) if meta.get('version') else None
    info.target_platforms = tuple(normalise_soc(str(p))
                                  for p in meta.get('target_platform') or ())
    sizes = {t.get('tensor_id'): tuple(int(d) for d in t.get('size', ()))
             for t in meta.get('norm_tensor') or ()}
    ports = {'input': {}, 'output': {}}
    for edge in meta.get('graph') or ():
        if edge.get('left') in ports and edge.get('right') == 'norm_tensor':
            tensor = sizes.get(edge.get('right_tensor_id'))
            ports[edge['left']][edge.get('left_tensor_id')] = tensor
    info.input_shapes = [s for _, s in sorted(ports['input'].items()) if s]
    info.output_shapes = [s for _, s in sorted(ports['output'].items()) if s]
    return info


def read_driver_version(paths: Sequence[str] = DEFAULT_PATHS.driver_version
                        ) -> Tuple[Optional[str], str]:
    """Return (driver version, the file it came from) or (None, why not)."""
    reasons = []
    for path in paths:
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                text = f.read()
        except PermissionError:
            reasons.append(f'{path}: permission denied (debugfs needs root)')
            continue
        except OSError as exc:
            reasons.append(f'{path}: {exc.strerror or exc}')
            continue
        version = _short_version(text)
        if version:
            return version, path
        reasons.append(f'{path}: no version in {text.strip()[:60]!r}')
    return None, '; '.join(reasons) or 'no driver version file given'


def read_runtime_version(paths: Sequence[str] = DEFAULT_PATHS.runtime_library
                         ) -> Tuple[Optional[str], str]:
    """Return (librknnrt version, library path) from the version string inside the library."""
    for path in paths:
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError:
            continue
        match = re.search(rb'librknnrt version: (\d+\.\d+\.\d+(?:b\d+)?)', data)
        if match:
            return match.group(1).decode('ascii'), path
        return None, f'{path} has no "librknnrt version" string'
    return None, f'librknnrt.so not found in {", ".join(paths)}'


def parse_sdk_version(text: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """
    Return (librknnrt version, NPU driver version) from ``RKNNLite.get_sdk_version()``.

    The documented text is ``RKNN VERSION:`` then ``API: 1.5.2 (71720f3fc@...)`` (librknnrt)
    and ``DRV: 0.7.2`` (the NPU driver). When a PC drives the board the DRV lines read
    ``DRV: rknn_server: ...`` and ``DRV: rknnrt: ...`` instead; rknnrt then wins.
    """
    runtime = driver = None
    for line in (text or '').splitlines():
        key, _, value = line.strip().partition(':')
        value = value.strip()
        if key == 'API':
            runtime = runtime or _short_version(value)
        elif key == 'DRV':
            if value.startswith('rknnrt:'):
                runtime = _short_version(value)
            elif not value.startswith('rknn_server:'):
                driver = _short_version(value)
    return runtime, driver


def _platform_findings(report: VersionReport) -> List[Finding]:
    if not report.model_platforms:
        return [Finding('warn', f'{report.model} does not say which SoC it was built for.',
                        'rebuild it with rknn-toolkit2 and config(target_platform=...)')]
    if not report.soc:
        return [Finding('warn', 'the SoC is unknown (no Rockchip entry in the device-tree '
                        'compatible file), so the model target '
                        f'{",".join(report.model_platforms)} was not checked.',
                        'run on the board itself; in a container, map '
                        '/proc/device-tree/compatible into it')]
    if any(same_npu(p, report.soc) for p in report.model_platforms):
        return [Finding('ok', f'model target {",".join(report.model_platforms)} runs on '
                        f'{report.soc}.')]
    return [Finding('error', f'the model was built for {",".join(report.model_platforms)} but '
                    f'this board is {report.soc}.',
                    f"rebuild the .rknn with rknn.config(target_platform='{report.soc}')")]


def _runtime_findings(report: VersionReport) -> List[Finding]:
    toolkit, runtime = parse_version(report.toolkit_version), parse_version(report.runtime_version)
    if toolkit is None or runtime is None:
        missing = ('the toolkit version in the model' if toolkit is None
                   else f'the librknnrt version ({report.runtime_source})')
        return [Finding('warn', f'{missing} is unknown, so toolkit and runtime versions were not '
                        'compared.', 'check `strings /usr/lib/librknnrt.so | grep "librknnrt '
                        'version"` against the rknn-toolkit2 version that built the model')]
    tk, rt = _short_version(report.toolkit_version), _short_version(report.runtime_version)
    if toolkit == runtime:
        return [Finding('ok', f'rknn-toolkit2 {tk} and librknnrt {rt} match.')]
    if runtime > toolkit:
        return [Finding('info', f'librknnrt {rt} is newer than rknn-toolkit2 {tk} that built '
                        'the model (supported: a newer runtime runs older models).')]
    fix = (f'update librknnrt.so on the board to {tk} or newer '
           '(rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so of airockchip/'
           f'rknn-toolkit2 v{tk}, copied to /usr/lib), with the rknn_toolkit_lite2 wheel and '
           f'rknn_server of the same version, or rebuild the model with rknn-toolkit2 {rt}')
    return [Finding('error', f'the model was built by rknn-toolkit2 {tk} but the board runs '
                    f'the older librknnrt {rt} (librknnrt must be at least the toolkit '
                    'version).', fix)]


def _driver_findings(report: VersionReport) -> List[Finding]:
    multi = report.core_mask in MULTI_CORE_MASKS and report.soc == 'rk3588'
    driver = parse_version(report.driver_version)
    if driver is None:
        what = f'the NPU driver version is unknown ({report.driver_source})'
        if multi:
            what += f'; core_mask {report.core_mask} needs driver >= 0.9 on RK3588'
        return [Finding('warn', what + '.', 'sudo cat /sys/kernel/debug/rknpu/version')]
    if multi and driver < MIN_MULTI_CORE_DRIVER:
        return [Finding('error', f'core_mask {report.core_mask} runs one model on several RK3588 '
                        f'cores, which needs NPU driver >= 0.9; this board has '
                        f'{report.driver_version}.',
                        "use core_mask 'auto' (or a single core '0'/'1'/'2'), or update the "
                        'kernel/board image to one with RKNPU driver >= 0.9')]
    return [Finding('ok', f'NPU driver {report.driver_version}.')]


def evaluate(report: VersionReport) -> VersionReport:
    """Recompute ``report.findings`` from its versions (after any of them changed)."""
    report.findings = (_platform_findings(report) + _runtime_findings(report)
                       + _driver_findings(report))
    return report


def check_versions(model_path: str, core_mask: str = 'auto',
                   sdk_version: Optional[str] = None,
                   paths: SystemPaths = DEFAULT_PATHS,
                   info: Optional[RknnFileInfo] = None) -> VersionReport:
    """
    Check a .rknn model against this board's runtime, driver and SoC.

    sdk_version: the text of ``RKNNLite.get_sdk_version()`` when the runtime is initialised;
    its librknnrt and driver versions are preferred over the files. info: the model's
    already-read RknnFileInfo (read from ``model_path`` when None).
    """
    if info is None:
        info = read_rknn_info(model_path)
    report = VersionReport(model=os.path.basename(model_path),
                           toolkit_version=info.toolkit_version,
                           model_platforms=info.target_platforms,
                           soc=detect_soc(paths.compatible), core_mask=str(core_mask))
    api_runtime, api_driver = parse_sdk_version(sdk_version)
    if api_runtime:
        report.runtime_version, report.runtime_source = api_runtime, 'RKNNLite.get_sdk_version'
    else:
        report.runtime_version, report.runtime_source = read_runtime_version(
            paths.runtime_library)
    if api_driver:
        report.driver_version, report.driver_source = api_driver, 'RKNNLite.get_sdk_version'
    else:
        report.driver_version, report.driver_source = read_driver_version(paths.driver_version)
    return evaluate(report)
