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
Strict JPEG and PNG decoding to BGR: a damaged image is an error, never a partly grey frame.

libjpeg (inside OpenCV) "recovers" from a truncated or corrupt scan with a warning on stderr and
returns an image; a camera frame damaged that way must be counted bad instead. JPEG goes through
``simplejpeg`` (libjpeg-turbo, MIT) with ``strict=True``, which turns every such warning into a
ValueError and prints nothing; it also decodes straight to BGR and is faster than
``cv2.imdecode``. Where simplejpeg is not installed, OpenCV decodes after structural checks
(start/end markers, a scan present) that catch cut frames but not every corrupt one:
``STRICT_JPEG`` says which decoder is in use.

PNG: every chunk's CRC is checked and the image data inflated once (zlib, as libpng does) to
check that it is complete before OpenCV decodes it; libpng then never sees a damaged file, so it
has nothing to print. Hand-written because OpenCV exposes no strict mode and the check is a short
walk over the chunk list.
"""

import struct
import zlib

import cv2
import numpy as np

from .errors import ImageFormatError

try:
    import simplejpeg
except ImportError:      # optional: `pip install simplejpeg` (cp310/cp311 wheels)
    simplejpeg = None

#: True when JPEG frames are decoded strictly (simplejpeg is importable).
STRICT_JPEG = simplejpeg is not None

JPEG_SOI = b'\xff\xd8'
JPEG_EOI = b'\xff\xd9'
JPEG_SOS = b'\xff\xda'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
# samples per pixel of each PNG colour type (greyscale, RGB, palette, grey+alpha, RGBA)
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def decode_image(data: bytes, what: str = 'image') -> np.ndarray:
    """
    Decode JPEG or PNG bytes (the data decides, not a name) to an (H, W, 3) uint8 BGR array.

    Other formats OpenCV reads are decoded by OpenCV as they are. Raises ImageFormatError naming
    ``what`` and the defect for empty, truncated or corrupt data.
    """
    if not data:
        raise ImageFormatError(f'{what} is empty')
    if data.startswith(JPEG_SOI):
        return decode_jpeg(data, what)
    if data.startswith(PNG_MAGIC):
        check_png(data, what)
    return _imdecode(data, what)


def decode_jpeg(data: bytes, what: str = 'JPEG image') -> np.ndarray:
    """Decode one JPEG strictly to BGR; raise ImageFormatError for any damage found."""
    if not data.rstrip(b'\x00').endswith(JPEG_EOI):
        raise ImageFormatError(f'{what}: JPEG data is truncated (no end-of-image marker)')
    if simplejpeg is not None:
        try:
            return simplejpeg.decode_jpeg(data, colorspace='BGR', strict=True)
        except ValueError as exc:
            raise ImageFormatError(f'{what}: corrupt JPEG: {_first_line(exc)}') from None
    if JPEG_SOS not in data:
        raise ImageFormatError(f'{what}: corrupt JPEG: no scan data (start-of-scan marker)')
    return _imdecode(data, what)


def check_png(data: bytes, what: str = 'PNG image') -> None:
    """Walk a PNG's chunks: CRCs, IHDR first, complete image data, IEND last; else raise."""
    pos, idat, header = len(PNG_MAGIC), [], None
    while True:
        if pos + 12 > len(data):
            raise ImageFormatError(f'{what}: PNG data is truncated (no IEND chunk)')
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ImageFormatError(f'{what}: PNG data is truncated (inside chunk '
                                   f'{kind.decode("latin-1")!r})')
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[end - 4:end])
        if zlib.crc32(kind + body) & 0xffffffff != crc:
            raise ImageFormatError(f'{what}: corrupt PNG (CRC mismatch in chunk '
                                   f'{kind.decode("latin-1")!r})')
        if header is None and kind != b'IHDR':
            raise ImageFormatError(f'{what}: corrupt PNG (first chunk is not IHDR)')
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body[:13])
        elif kind == b'IDAT':
            idat.append(body)
        elif kind == b'IEND':
            break
        pos = end
    width, height, depth, colour, _, _, interlace = header
    inflater = zlib.decompressobj()
    try:
        size = len(inflater.decompress(b''.join(idat)))
    except zlib.error as exc:
        raise ImageFormatError(f'{what}: corrupt PNG image data ({exc})') from None
    if not inflater.eof:
        raise ImageFormatError(f'{what}: PNG image data is truncated (incomplete zlib stream)')
    channels = _PNG_CHANNELS.get(colour)
    if channels is None:
        raise ImageFormatError(f'{what}: corrupt PNG (colour type {colour})')
    row = (width * channels * depth + 7) // 8
    if not interlace and size != height * (row + 1):
        raise ImageFormatError(f'{what}: PNG image data has {size} bytes, expected '
                               f'{height * (row + 1)} for {width}x{height}')


def _imdecode(data: bytes, what: str) -> np.ndarray:
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ImageFormatError(f'{what}: cannot be decoded: {exc}') from None
    if image is None or image.size == 0:
        raise ImageFormatError(f'{what}: cannot be decoded (corrupt data or an unknown codec; '
                               f'starts with {data[:4].hex()})')
    return image


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
