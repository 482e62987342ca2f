#!/usr/bin/env python3
"""Turn a raw frame from the UML demo into a PNG, with only the standard
library (zlib and struct).

usage: host/png.py FRAME.xrgb OUT.png

FRAME.xrgb is what tests/userspace/dmabuf-pipeline writes: a text line
"XRGB8888 <width> <height>", then width x height pixels of 4 bytes each,
row after row, in DRM's XRGB8888 layout (little endian: blue, green, red,
then an unused byte).  The PNG is 8-bit RGB.
"""
import struct
import sys
import zlib


def read_frame(path):
    with open(path, 'rb') as f:
        data = f.read()
    end = data.find(b'\n')
    if end < 0:
        raise ValueError('%s: no header line' % path)
    fields = data[:end].split()
    if len(fields) != 3 or fields[0] != b'XRGB8888':
        raise ValueError('%s: header is not "XRGB8888 W H"' % path)
    width, height = int(fields[1]), int(fields[2])
    pixels = data[end + 1:]
    if width <= 0 or height <= 0 or len(pixels) != width * height * 4:
        raise ValueError('%s: %d bytes of pixels for %dx%d' %
                         (path, len(pixels), width, height))
    return width, height, pixels


def chunk(kind, body):
    return (struct.pack('>I', len(body)) + kind + body +
            struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff))


def to_png(width, height, pixels):
    rgb = bytearray(width * 3)
    rows = bytearray()
    stride = width * 4
    for y in range(height):
        line = pixels[y * stride:(y + 1) * stride]
        # B, G, R, X in memory: take R, G and B in that order.
        rgb[0::3] = line[2::4]
        rgb[1::3] = line[1::4]
        rgb[2::3] = line[0::4]
        rows += b'\0' + rgb    # filter type 0 for every row
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) +
            chunk(b'IDAT', zlib.compress(bytes(rows), 9)) +
            chunk(b'IEND', b''))


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: host/png.py FRAME.xrgb OUT.png')
    try:
        width, height, pixels = read_frame(sys.argv[1])
    except (OSError, ValueError) as e:
        sys.exit('png.py: %s' % e)
    with open(sys.argv[2], 'wb') as f:
        f.write(to_png(width, height, pixels))


if __name__ == '__main__':
    main()
