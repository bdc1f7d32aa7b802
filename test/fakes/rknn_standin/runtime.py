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
Stand-in of ``rknnlite.api.rknn_runtime.RKNNRuntime`` (compiled in the wheel): librknnrt on a PC.

Method names, arguments, return values and messages are those of the wheel's
``rknn_runtime.cpython-310-aarch64-linux-gnu.so`` (its strings, its PyMethodDef table and, for
``set_core_mask``, its disassembled control flow), as far as ``rknn_lite.py`` reaches them:

- ``RKNNRuntime(root_dir, target, device_id, async_mode, core_mask)``: loads librknnrt (here:
  the board's ``librknnrt.so`` file and the version string in it); on the board ``target``
  must be None ("Unsupported run platform: Linux aarch64" otherwise); reads the SoC from the
  device-tree compatible file (``target_soc``, None when the file is missing, as in a
  container that does not map it);
- ``build_graph(rknn_data, load_model_in_npu, user_key)``: ``rknn_init``: parses the model,
  refuses a model built for another NPU (``cpu_npu_mapper.yml``) or by an rknn-toolkit2 newer
  than librknnrt (Rockchip's rule; the real library logs "Invalid RKNN model version 6" and
  "rknn_init, load model failed!"), raising ``Exception('RKNN init failed. error code: ...')``;
- ``set_core_mask(core_mask)``: the wheel's own logic: ``NPU_CORE_AUTO`` returns 0 at once; on a
  SoC outside ``MULTI_NPU_SOC`` (RK3588, RK3576) any other mask is an error
  (``rknnLog.e``, which raises); a value outside ``CURRENT_SUPPORT_NPU_CORE_MODE`` is an error;
  on RK3576 ``NPU_CORE_0_1_2`` becomes ``NPU_CORE_0_1`` and ``NPU_CORE_2`` becomes
  ``NPU_CORE_0``, each with the wheel's warning, and ``NPU_CORE_ALL`` becomes
  ``NPU_CORE_0_1`` silently; on RK3588 ``NPU_CORE_ALL`` becomes ``NPU_CORE_0_1_2``; then
  ``rknn_set_core_mask``, whose negative return is an error; returns its return code;
- ``set_inputs(inputs, data_type, data_format, inputs_pass_through)``: the checks whose messages
  the wheel carries (list of ndarrays, count, dtype, data format, element count; NCHW data is
  transposed to the NHWC the model wants, with the wheel's warning); every failure raises;
- ``run(get_frame_id)`` -> ``(0, frame_id)``; ``get_outputs(get_frame_id, reuse_outputs)`` ->
  float32 arrays of the model's output shapes (``reuse_outputs=True``: views of staging buffers
  the next call overwrites, as the wheel documents);
- ``get_sdk_version()`` -> ``(text, api_version, driver_version)`` with the documented
  ``RKNN VERSION:`` text; ``check_rt_version``, ``extend_rt_lib``, ``check_dynamic_shape``;
  ``release()``; ``get_adb_devices()``/``get_ntb_devices()`` (none: no PC link here).

Output values: for the RKNN YOLO split heads (6 or 9 outputs) the bright region of the input
(max channel > 128) is the one object, its class the dominant RGB channel, planted with
``edge_perception.synthetic.make_outputs('rknn', ...)``; any other model gets each output
filled with the input's mean / 255 (so outputs follow the input).
"""

import re

from edge_perception.synthetic import make_outputs, SyntheticObject
import numpy as np
from rknn_standin import board, model_file
from rknnlite.api.npu_config.cpu_npu_mapper import get_npu_model_from_target
from rknnlite.api.rknn_log import RKNNLog as rknnLog

NPU_CORE_AUTO, NPU_CORE_0, NPU_CORE_1, NPU_CORE_2 = 0, 1, 2, 4
NPU_CORE_0_1, NPU_CORE_0_1_2, NPU_CORE_ALL = 3, 7, 0xffff
CURRENT_SUPPORT_NPU_CORE_MODE = [NPU_CORE_AUTO, NPU_CORE_0, NPU_CORE_1, NPU_CORE_2,
                                 NPU_CORE_0_1, NPU_CORE_0_1_2, NPU_CORE_ALL]
MULTI_NPU_SOC = ['RK3588', 'RK3576']
SUPPORTED_DTYPES = ('int8', 'uint8', 'int16', 'float16', 'float32')
RKNN_SUCC, RKNN_ERR_FAIL, RKNN_ERR_PARAM_INVALID = 0, -1, -5


def _version(text):
    match = re.search(r'(\d+)\.(\d+)\.(\d+)', text or '')
    return tuple(int(g) for g in match.groups()) if match else None


def _soc_from_compatible(path):
    try:
        with open(path, 'rb') as f:
            entries = f.read().decode('ascii', 'replace').split('\0')
    except OSError:
        return None
    for entry in entries:
        match = re.match(r'rockchip,(rk\d{4})', entry.strip())
        if match:
            return match.group(1).upper()
    return None


class RKNNRuntime:
    """librknnrt behind the vendor's Python wrapper, on the simulated board."""

    def __init__(self, root_dir=None, target=None, device_id=None, async_mode=False,
                 core_mask=NPU_CORE_AUTO):
        b = board.BOARD
        b.record('RKNNRuntime', target, core_mask)
        if target is not None:
            raise Exception('Unsupported run platform: Linux aarch64')
        self.api_version = b.runtime_version()
        if self.api_version is None:
            rknnLog.e(f'Can not find dynamic library on {b.librknnrt}!', False)
            rknnLog.e('Please download the librknnrt.so from https://github.com/airockchip/'
                      'rknn-toolkit2/tree/master/rknpu2/runtime/Linux/librknn_api/aarch64 and '
                      'move it to directory /usr/lib/', False)
            raise Exception('Init runtime environment failed!')
        self.target_soc = _soc_from_compatible(b.compatible)
        if self.target_soc is None:
            rknnLog.w('!!! It is detected that /proc/device-tree/compatible is missing in the '
                      'container.')
        self.async_mode = async_mode
        self.meta = None
        self.context = None
        self._inputs = None
        self._staging = {}
        self._frame = 0

    @staticmethod
    def get_adb_devices():
        return []

    @staticmethod
    def get_ntb_devices():
        return []

    # -- rknn_init -----------------------------------------------------------------------
    def build_graph(self, rknn_data, load_model_in_npu=False, user_key=None):
        b = board.BOARD
        b.record('build_graph', len(rknn_data or b''))
        b.say('I', f'RKNN: RKNN Runtime Information, librknnrt version: {self.api_version}')
        b.say('I', f'RKNN: RKNN Driver Information, version: {b.driver_version}')
        try:
            meta = model_file.parse(rknn_data)
        except model_file.ModelFileError as exc:
            b.say('E', f'RKNN: {exc}')
            b.say('E', 'RKNN: rknn_init, load model failed!')
            raise Exception('RKNN init failed. error code: RKNN_ERR_MODEL_INVALID') from None
        platforms = [str(p).upper() for p in meta.get('target_platform') or ()]
        b.say('I', f"RKNN: RKNN Model Information, version: {meta['format_version']}, toolkit "
                   f"version: {meta.get('version')}, target platform: {','.join(platforms)}")
        here = get_npu_model_from_target(b.soc)
        if not any(get_npu_model_from_target(p) == here for p in platforms):
            b.say('E', f"RKNN: the model is for {','.join(platforms) or 'an unknown target'}, "
                       f'but the current platform is {b.soc.upper()}')
            b.say('E', 'RKNN: rknn_init, load model failed!')
            raise Exception('RKNN init failed. error code: RKNN_ERR_TARGET_PLATFORM_UNMATCH')
        toolkit, runtime = _version(meta.get('version')), _version(self.api_version)
        if toolkit and runtime and runtime < toolkit:
            b.say('E', f"RKNN: Invalid RKNN model version {meta['format_version']}")
            b.say('E', 'RKNN: rknn_init, load model failed!')
            raise Exception('RKNN init failed. error code: RKNN_ERR_FAIL')
        self.meta = meta
        self.context = object()

    # -- the wheel's set_core_mask ---------------------------------------------------------
    def set_core_mask(self, core_mask):
        board.BOARD.record('set_core_mask', core_mask)
        if core_mask == NPU_CORE_AUTO:
            return 0
        if self.target_soc not in MULTI_NPU_SOC:
            rknnLog.e('The core_mask is only supported by {}. Please do not set this parameter '
                      'on other platforms.'.format(MULTI_NPU_SOC))
        if core_mask not in CURRENT_SUPPORT_NPU_CORE_MODE:
            rknnLog.e('The core mode {} is not supported currently.'.format(core_mask))
        if core_mask == NPU_CORE_0_1_2 and self.target_soc == 'RK3576':
            rknnLog.w('The RK3576 platform has only two NPU cores. "NPU_CORE_0_1_2" is not '
                      'supported and will be automatically replaced with "NPU_CORE_0_1".')
            core_mask = NPU_CORE_0_1
        if core_mask == NPU_CORE_2 and self.target_soc == 'RK3576':
            rknnLog.w('The RK3576 platform has only two NPU cores. "NPU_CORE_2" is not '
                      'supported and will be automatically replaced with "NPU_CORE_0".')
            core_mask = NPU_CORE_0
        if core_mask == NPU_CORE_ALL and self.target_soc == 'RK3576':
            core_mask = NPU_CORE_0_1
        if core_mask == NPU_CORE_ALL and self.target_soc == 'RK3588':
            core_mask = NPU_CORE_0_1_2
        ret = self._rknn_set_core_mask(core_mask)
        if ret < 0:
            rknnLog.e('RKNN set core mask failed. error code: {}'.format(ret))
        return ret

    def _rknn_set_core_mask(self, core_mask):
        """librknnrt: a mask naming a core the NPU driver does not have is invalid."""
        b = board.BOARD
        if self.context is None:
            return RKNN_ERR_FAIL
        if core_mask >> b.npu_cores:
            b.say('E', f'RKNN: rknn_set_core_mask: invalid core mask {core_mask} for '
                       f'{b.npu_cores} NPU core(s)')
            return RKNN_ERR_PARAM_INVALID
        b.core_mask = core_mask
        return RKNN_SUCC

    def check_rt_version(self):
        _, _, driver = self.get_sdk_version()
        self.driver_version = _version(driver)

    def extend_rt_lib(self):
        pass

    def check_dynamic_shape(self):
        pass

    # -- inference -------------------------------------------------------------------------
    def _input_shape(self, i):
        shape = self.meta['inputs'][i]
        if len(shape) == 4:                        # norm_tensor is NCHW; the NPU wants NHWC
            return (shape[0], shape[2], shape[3], shape[1])
        return tuple(shape)

    def set_inputs(self, inputs, data_type=None, data_format=None, inputs_pass_through=None):
        board.BOARD.record('set_inputs', data_type, data_format, inputs_pass_through)
        if not isinstance(inputs, list):
            rknnLog.e('Inputs should be placed in a list, like [img1, img2], both the img1 and '
                      'img2 are ndarray.')
        count = len(self.meta['inputs'])
        if len(inputs) != count:
            rknnLog.e('Inputs are invalid.')
        types = data_type if isinstance(data_type, list) else [data_type] * count
        formats = data_format if isinstance(data_format, list) else [data_format] * count
        if len(types) != count:
            rknnLog.e('The lengths of data_type and inputs are not equal.')
        if len(formats) != count:
            rknnLog.e('The lengths of data_format and inputs are not equal.')
        if inputs_pass_through is not None and len(inputs_pass_through) != count:
            rknnLog.e('The lengths of inputs_pass_through and inputs are not equal.')
        staged = []
        for i, (x, kind, fmt) in enumerate(zip(inputs, types, formats)):
            if not isinstance(x, np.ndarray):
                rknnLog.e(f'Type of inputs[{i}] is not np.ndarray!')
            if kind is None:
                if x.dtype.name not in SUPPORTED_DTYPES:
                    rknnLog.e(f'Unsupport inputs[{i}].dtype: {x.dtype}')
            elif kind not in SUPPORTED_DTYPES:
                rknnLog.e(f'Unsupport data type: {kind}')
            elif x.dtype.name != kind:
                rknnLog.e(f'inputs[{i}].dtype: {x.dtype} is not same as data_type')
            if fmt not in (None, 'nhwc', 'nchw'):
                rknnLog.e(f'Unsupport data format: {fmt}')
            shape = self._input_shape(i)
            if x.ndim != len(shape):
                rknnLog.w(f'The input[{i}] need {len(shape)}dims input, but {x.ndim}dims input '
                          'buffer feed.')
            if fmt == 'nchw' and x.ndim == 4:
                rknnLog.w(f'The input[{i}] need NHWC data format, but NCHW set, the data format '
                          'and data buffer will be changed to NHWC.')
                x = x.transpose(0, 2, 3, 1)
            if x.size != int(np.prod(shape)):
                rknnLog.e(f'Size of inputs[{i}] is invalid!')
            staged.append(np.ascontiguousarray(x).reshape(shape))
        self._inputs = staged

    def run(self, get_frame_id=False):
        board.BOARD.record('run', get_frame_id)
        if self._inputs is None:
            raise Exception('rknn run failed. error code: RKNN_ERR_INPUT_INVALID')
        self._frame += 1
        return RKNN_SUCC, self._frame

    def get_outputs(self, get_frame_id=False, reuse_outputs=False):
        board.BOARD.record('get_outputs', get_frame_id, reuse_outputs)
        outputs = self._compute(self._inputs[0])
        if not reuse_outputs:
            return outputs
        views = []
        for i, out in enumerate(outputs):
            buf = self._staging.get(i)
            if buf is None or buf.shape != out.shape:
                buf = self._staging[i] = np.empty_like(out)
            buf[...] = out
            views.append(buf)
        return views

    def _compute(self, image):
        shapes = [tuple(s) for s in self.meta['outputs']]
        pixels = image[0].astype(np.float32)
        if len(shapes) in (6, 9) and len(shapes[0]) == 4 and shapes[0][1] == 64:
            return self._yolo(pixels, shapes)
        level = float(pixels.mean()) / 255.0
        return [np.full(s, level, np.float32) for s in shapes]

    @staticmethod
    def _yolo(image, shapes):
        num_classes = shapes[1][1]
        stride = 8
        input_hw = (shapes[0][2] * stride, shapes[0][3] * stride)
        bright = image.max(axis=2) > 128
        objects = []
        if bright.any():
            ys, xs = np.nonzero(bright)
            colour = image[bright].mean(axis=0)
            objects.append(SyntheticObject(
                (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)),
                int(np.argmax(colour)) % num_classes, 0.9))
        outputs = make_outputs('rknn', objects, num_classes=num_classes, input_hw=input_hw,
                               score_sum=len(shapes) == 9)
        if [tuple(o.shape) for o in outputs] != shapes:
            raise Exception('stand-in: the model outputs are no RKNN YOLO split head')
        return [np.asarray(o, np.float32) for o in outputs]

    # -- versions, release -----------------------------------------------------------------
    def get_sdk_version(self):
        b = board.BOARD
        line = '=' * 46
        text = (f'{line}\nRKNN VERSION:\n  API: {self.api_version}\n'
                f'  DRV: {b.driver_version}\n{line}')
        return text, self.api_version, b.driver_version

    def release(self):
        board.BOARD.record('release')
        self.context = None
        self._staging = {}
