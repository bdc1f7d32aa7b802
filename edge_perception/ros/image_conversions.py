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
sensor_msgs/Image and CompressedImage <-> BGR numpy arrays, without cv_bridge.

Raw images become a view on ``msg.data`` where the encoding already is BGR (no copy; rows may
be padded and the array read-only: copy it before writing into it), else one OpenCV colour
conversion. Every malformed message raises ``ImageFormatError`` saying what is wrong.

Bayer mosaics (``bayer_<pattern>8``/``16``; the pattern names the top-left 2x2 pixels in row
order) are demosaiced by OpenCV (bilinear, as cv_bridge does). 16-bit encodings (mono16,
bgr16, rgb16, bgra16, rgba16, bayer_*16, 16UC1) are converted at 16 bits, then scaled to 8
bits by 255/65535 with rounding: cv_bridge's ``toCvCopy`` order and factor. ``32FC1`` (depth
in metres) is refused on a colour input, naming the ``depth`` topic; ``16UC1`` is taken as
mono16, with a hint (``HINTS``) that the nodes log, throttled, naming the ``depth`` topic.

The other way, ``bgr_to_image`` fills ``data`` with an ``array.array('B')``: message field
checks (``ROS_PYTHON_CHECK_FIELDS=1``, and always on Humble) accept one without looking at
every byte, which ``bytes`` or a list would cost (~80 ms for a 640x480 frame).
"""

import array
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

from ..codecs import decode_image
from ..errors import ImageFormatError
from ..preprocess import Nv12Frame, Yuv422Frame


@dataclass(frozen=True)
class Encoding:
    """How the bytes of one raw encoding are laid out and turned into BGR."""

    channels: int              # samples per pixel in the buffer (2 for packed YUV 4:2:2)
    itemsize: int = 1          # bytes per sample
    to_bgr: Optional[int] = None   # cv2 colour conversion code; None: the data is BGR already
    planar_nv12: bool = False  # Y plane of height rows, then interleaved UV of height/2 rows
    even_width: bool = False
    even_height: bool = False
    yuv422: Optional[str] = None   # packed YUV 4:2:2 byte order ('yuyv' or 'uyvy')

    @property
    def pixel_bytes(self) -> int:
        """Bytes per pixel in a row (for NV12: per pixel of the Y plane)."""
        return self.channels * self.itemsize


_BGR = Encoding(3)
_MONO8 = Encoding(1, to_bgr=cv2.COLOR_GRAY2BGR)
_MONO16 = Encoding(1, itemsize=2, to_bgr=cv2.COLOR_GRAY2BGR)
_YUYV = Encoding(2, to_bgr=cv2.COLOR_YUV2BGR_YUYV, even_width=True, yuv422='yuyv')
_UYVY = Encoding(2, to_bgr=cv2.COLOR_YUV2BGR_UYVY, even_width=True, yuv422='uyvy')

#: Bayer pattern (top-left 2x2 in row order, the sensor_msgs name) -> OpenCV demosaicing code.
#: OpenCV names a pattern by the second row's second and third pixels, so its code for ROS's
#: rggb is BayerBG: the same table as cv_bridge's getConversionCodes() (ros-perception/
#: vision_opencv, cv_bridge/src/cv_bridge.cpp, "Deal with Bayer"; identical on humble and
#: rolling). test_image_encodings.py checks it on mosaics sampled from a real picture.
BAYER_TO_BGR = {
    'rggb': cv2.COLOR_BayerBG2BGR,
    'bggr': cv2.COLOR_BayerRG2BGR,
    'gbrg': cv2.COLOR_BayerGR2BGR,
    'grbg': cv2.COLOR_BayerGB2BGR,
}

#: 255/65535: cv_bridge's factor from 16 to 8 bits (``convertTo`` rounds to nearest)
SCALE_16_TO_8 = 255.0 / 65535.0

#: Encodings refused on a colour input, and why (what to do instead).
REFUSED = {
    '32FC1': 'is a depth image (float metres), not a picture: publish it on the '
             '"depth" topic of the node (use_depth:=true, remapped like "image") and a '
             'colour or mono image on "image"',
}

#: Encodings accepted on a colour input that may be wired there by mistake, and the hint.
HINTS = {
    '16UC1': 'is taken as a mono16 grey picture, but 16UC1 is the depth encoding (millimetres): '
             'if this is a depth camera, publish it on the "depth" topic of the node '
             '(use_depth:=true, remapped like "image") instead',
}

#: Raw encodings understood, by their sensor_msgs/image_encodings name.
ENCODINGS = {
    'bgr8': _BGR,
    '8UC3': _BGR,
    'rgb8': Encoding(3, to_bgr=cv2.COLOR_RGB2BGR),
    'mono8': _MONO8,
    '8UC1': _MONO8,
    'bgra8': Encoding(4, to_bgr=cv2.COLOR_BGRA2BGR),
    'rgba8': Encoding(4, to_bgr=cv2.COLOR_RGBA2BGR),
    'mono16': _MONO16,
    '16UC1': _MONO16,
    'nv12': Encoding(1, to_bgr=cv2.COLOR_YUV2BGR_NV12, planar_nv12=True, even_width=True,
                     even_height=True),
    'yuv422_yuy2': _YUYV,      # YUYV byte order
    'yuyv': _YUYV,
    'yuv422': _UYVY,           # UYVY byte order (the ROS meaning of plain yuv422)
    'uyvy': _UYVY,
    'bgr16': Encoding(3, itemsize=2),
    'rgb16': Encoding(3, itemsize=2, to_bgr=cv2.COLOR_RGB2BGR),
    'bgra16': Encoding(4, itemsize=2, to_bgr=cv2.COLOR_BGRA2BGR),
    'rgba16': Encoding(4, itemsize=2, to_bgr=cv2.COLOR_RGBA2BGR),
}
ENCODINGS.update({f'bayer_{pattern}{bits}': Encoding(1, itemsize=bits // 8, to_bgr=code)
                  for pattern, code in BAYER_TO_BGR.items() for bits in (8, 16)})


def _as_bytes_array(data) -> np.ndarray:
    """View a message's data field as a uint8 array (no copy for array.array or bytes)."""
    try:
        view = memoryview(data)
    except TypeError:                 # a plain list of ints
        return np.asarray(data, dtype=np.uint8).reshape(-1)
    if view.nbytes == 0:
        return np.zeros(0, np.uint8)
    return np.frombuffer(view, dtype=np.uint8)


def image_to_bgr(msg: Image) -> np.ndarray:
    """
    Convert a sensor_msgs/Image to an (H, W, 3) uint8 BGR array.

    Honours ``step`` (row padding) and, for 16-bit encodings, ``is_bigendian``. 16-bit images
    are converted (colour order, demosaicing) at 16 bits and then scaled by 255/65535, rounded,
    as cv_bridge's ``toCvCopy(msg, "bgr8")`` does.
    Raises ImageFormatError for an unknown or refused encoding or inconsistent sizes.
    """
    pixels, spec = _pixels(msg)
    if spec.to_bgr is not None:
        pixels = cv2.cvtColor(pixels, spec.to_bgr)
    if spec.itemsize == 2:
        pixels = cv2.convertScaleAbs(pixels, alpha=SCALE_16_TO_8)
    return pixels


def image_to_frame(msg: Image, keep_nv12: bool, keep_yuv: bool = False):
    """
    Convert an Image for a model; with ``keep_nv12`` an unpadded nv12 image stays NV12.

    An NPU model with an NV12 input (RDK BPU) then gets the camera's bytes without any
    conversion (an ``Nv12Frame`` view of the message buffer); everything else becomes BGR.
    With ``keep_yuv`` nv12 and packed YUV 4:2:2 (yuyv, uyvy) images stay in their encoding for
    every model (``Nv12Frame``, ``Yuv422Frame``: views of the message, no conversion):
    ``preprocess`` then converts only what the model's input needs, with the same result as
    converting the whole frame (``YuvFrame.to_bgr()`` gives that, e.g. for drawing).
    """
    if keep_yuv and ENCODINGS.get(msg.encoding) is not None \
            and ENCODINGS[msg.encoding].yuv422:
        pixels, spec = _pixels(msg)
        return Yuv422Frame(pixels, int(msg.width), int(msg.height), spec.yuv422)
    if (keep_nv12 or keep_yuv) and msg.encoding == 'nv12':
        pixels, _ = _pixels(msg)
        if pixels.flags['C_CONTIGUOUS']:
            return Nv12Frame(pixels, int(msg.width), int(msg.height))
        return Nv12Frame(np.ascontiguousarray(pixels), int(msg.width), int(msg.height))
    return image_to_bgr(msg)


def _pixels(msg: Image):
    """
    Validate an Image and view its pixels with the encoding's description.

    8-bit pixels are a view on the message (no copy); 16-bit ones a native-order uint16 copy.
    """
    encoding = msg.encoding
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    what = f'{encoding or "(no encoding)"} image {width}x{height}'
    if height == 0 or width == 0:
        raise ImageFormatError(f'{what} is empty (zero width or height)')
    if encoding in REFUSED:
        raise ImageFormatError(f'{what}: {encoding} {REFUSED[encoding]}')
    spec = ENCODINGS.get(encoding)
    if spec is None:
        raise ImageFormatError(f'unsupported image encoding {encoding!r}; supported: '
                               f'{", ".join(sorted(ENCODINGS))}')
    if (spec.even_width and width % 2) or (spec.even_height and height % 2):
        needs = (('width', spec.even_width), ('height', spec.even_height))
        sides = ' and '.join(side for side, need in needs if need)
        raise ImageFormatError(f'{what}: {encoding} needs an even {sides}')
    row_bytes = width * spec.pixel_bytes
    if step < row_bytes:
        raise ImageFormatError(f'{what}: step {step} is smaller than width {width} x '
                               f'{spec.pixel_bytes} bytes per pixel = {row_bytes}')
    rows = height * 3 // 2 if spec.planar_nv12 else height
    data = _as_bytes_array(msg.data)
    if data.size != step * rows:
        rows_text = f'{rows} rows (height x 3/2)' if spec.planar_nv12 else f'height {rows}'
        problem = 'truncated' if data.size < step * rows else 'too long'
        raise ImageFormatError(f'{what}: data has {data.size} bytes, expected step {step} x '
                               f'{rows_text} = {step * rows} ({problem})')
    if spec.itemsize == 2:
        dtype = np.dtype('>u2' if msg.is_bigendian else '<u2')
    else:
        dtype = np.dtype(np.uint8)
    if spec.planar_nv12:
        shape, strides = (rows, width), (step, 1)
    elif spec.channels == 1:
        shape, strides = (height, width), (step, spec.itemsize)
    else:
        shape = (height, width, spec.channels)
        strides = (step, spec.pixel_bytes, spec.itemsize)
    pixels = np.ndarray(shape, dtype, buffer=data, strides=strides)
    if spec.itemsize == 2:      # native byte order, aligned rows: what OpenCV takes
        pixels = np.ascontiguousarray(pixels, dtype=np.uint16)
    return pixels, spec


def compressed_to_bgr(msg: CompressedImage) -> np.ndarray:
    """
    Decode a sensor_msgs/CompressedImage (JPEG, PNG, or what OpenCV reads) to BGR uint8.

    The data itself decides the codec (``format`` strings vary between publishers, e.g.
    ``jpeg`` or ``bgr8; jpeg compressed bgr8``). Decoding is strict (``edge_perception.codecs``):
    truncated or corrupt JPEG/PNG data is rejected rather than decoded into a partly grey
    image, and the decoders print nothing. Raises ImageFormatError.
    """
    fmt = msg.format
    if 'compresseddepth' in fmt.lower().replace(' ', ''):
        raise ImageFormatError(f'CompressedImage format {fmt!r}: compressedDepth images are '
                               'not supported (subscribe to a colour or mono topic)')
    data = _as_bytes_array(msg.data).tobytes()
    return decode_image(data, f'CompressedImage ({len(data)} bytes, format {fmt!r})')


def _byte_array(image: np.ndarray) -> array.array:
    data = array.array('B')
    # one memcpy; the uint8 view lets 16-bit images (mono16) through frombytes too
    data.frombytes(np.ascontiguousarray(image).view(np.uint8).data)
    return data


def bgr_to_image(image: np.ndarray, header=None) -> Image:
    """Convert an (H, W, 3) uint8 BGR array to a bgr8 sensor_msgs/Image (one pixel copy)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3:
        shape = getattr(image, 'shape', None)
        raise ValueError(f'bgr_to_image needs an (H, W, 3) uint8 array, got {shape}')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    msg.encoding = 'bgr8'
    msg.is_bigendian = 0
    msg.step = msg.width * 3
    msg.data = _byte_array(image)
    return msg


def bgr_to_compressed(image: np.ndarray, header=None, fmt: str = 'jpeg',
                      quality: int = 90) -> CompressedImage:
    """Encode an (H, W, 3) uint8 BGR array as a JPEG or PNG sensor_msgs/CompressedImage."""
    if fmt not in ('jpeg', 'png'):
        raise ValueError(f'fmt must be jpeg or png, got {fmt!r}')
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == 'jpeg' else []
    ok, encoded = cv2.imencode('.jpg' if fmt == 'jpeg' else '.png', image, params)
    if not ok:
        raise ValueError(f'OpenCV could not encode a {getattr(image, "shape", None)} image')
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = fmt
    msg.data = _byte_array(encoded)
    return msg


def mono_to_image(image: np.ndarray, header=None) -> Image:
    """
    Convert an (H, W) uint8 or uint16 array to a mono8 or mono16 sensor_msgs/Image.

    mono16 is little-endian (``is_bigendian`` 0), as on every platform ROS 2 runs on.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 2 \
            or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'mono_to_image needs an (H, W) uint8 or uint16 array, got '
                         f'{getattr(image, "shape", None)} {getattr(image, "dtype", None)}')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(image.shape[0]), int(image.shape[1])
    wide = image.dtype == np.uint16
    msg.encoding = 'mono16' if wide else 'mono8'
    msg.is_bigendian = 0
    msg.step = msg.width * (2 if wide else 1)
    msg.data = _byte_array(image.astype('<u2', copy=False) if wide else image)
    return msg
