"""Draw the add-in icons: a rounded blue square with a white calendar page.

Standard library only, so it runs anywhere:  python scripts/make-icons.py [output-dir]
The output is deterministic; the PNGs are committed under addin/taskpane/assets/.
"""

import struct
import sys
import zlib
from pathlib import Path

SIZES = (16, 32, 64, 80, 128)
OUTPUT_DIR = Path(__file__).resolve().parents[1] / "addin" / "taskpane" / "assets"

BLUE = (15, 108, 189)  # Fluent "brand" blue, close to Outlook's own
WHITE = (255, 255, 255)
SAMPLES = 4  # per axis; anti-aliasing by supersampling


def _rounded_rect(x: float, y: float, left: float, top: float, right: float, bottom: float, r: float) -> bool:
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + r), right - r)
    cy = min(max(y, top + r), bottom - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _glyph(x: float, y: float) -> bool:
    """The white calendar page, in unit coordinates (0..1, y down)."""
    page = _rounded_rect(x, y, 0.2, 0.26, 0.8, 0.8, 0.06)
    inside = _rounded_rect(x, y, 0.28, 0.42, 0.72, 0.72, 0.02)
    rings = any(_rounded_rect(x, y, cx - 0.045, 0.17, cx + 0.045, 0.34, 0.045) for cx in (0.36, 0.64))
    # Two rows of three day cells inside the page outline.
    cells = any(
        _rounded_rect(x, y, cx - 0.045, cy - 0.045, cx + 0.045, cy + 0.045, 0.01)
        for cx in (0.37, 0.5, 0.63)
        for cy in (0.51, 0.63)
    )
    return rings or (page and not inside) or cells


def _pixel(px: int, py: int, size: int) -> bytes:
    background = glyph = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = (px + (sx + 0.5) / SAMPLES) / size
            y = (py + (sy + 0.5) / SAMPLES) / size
            if _rounded_rect(x, y, 0.0, 0.0, 1.0, 1.0, 0.2):
                background += 1
                glyph += _glyph(x, y)
    total = SAMPLES * SAMPLES
    if background == 0:
        return bytes(4)
    # Colour is the glyph/background mix; alpha is the coverage of the rounded square.
    mix = glyph / background
    rgb = (round(b + (w - b) * mix) for b, w in zip(BLUE, WHITE, strict=True))
    return bytes((*rgb, round(255 * background / total)))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int) -> bytes:
    """An RGBA PNG of the icon at ``size`` x ``size`` pixels."""
    rows = b"".join(b"\x00" + b"".join(_pixel(px, py, size) for px in range(size)) for py in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def main(argv: list[str]) -> None:
    output_dir = Path(argv[0]) if argv else OUTPUT_DIR
    output_dir.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        path = output_dir / f"icon-{size}.png"
        path.write_bytes(png(size))
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
