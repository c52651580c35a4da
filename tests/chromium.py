"""Debian's headless chromium, for the HTML report's tests: the DOM after
the page's scripts ran, what the page wrote to its console, a screenshot
(decoded here: no imaging library), always stopped by its PID."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import zlib

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def binary() -> str | None:
    return shutil.which("chromium")


def run(url: str, profile: str, *args: str, timeout: float = 90) -> tuple[str, list[str]]:
    """chromium on `url` with `args`: its stdout, and the page's console
    lines (chromium logs each as ':CONSOLE')."""
    cmd = [binary(), *FLAGS, f"--user-data-dir={profile}", *args, url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Its own session, not reaped yet: the group is still its own.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return out, [ln for ln in err.splitlines() if ":CONSOLE" in ln]


def dump_dom(url: str, profile: str) -> tuple[str, list[str]]:
    return run(url, profile, "--dump-dom")


def screenshot(url: str, profile: str, png: str, width: int, height: int) -> list[str]:
    _, console = run(url, profile, f"--screenshot={png}", f"--window-size={width},{height}")
    return console


def read_png(path: str) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat = 8, []
    width = height = depth = ctype = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:          # Sub
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:        # Up
            row = bytearray((a + b) & 0xFF for a, b in zip(row, prev))
        elif kind == 3:        # Average
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:        # Paeth
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(row) if bpp == 3 else
                    bytes(v for i, v in enumerate(row) if i % 4 != 3))
        prev = row
    return width, height, rows


def pixels_like(rows: list[bytes], box: tuple[int, int, int, int], rgb: tuple[int, int, int],
                tolerance: int = 40) -> int:
    """How many pixels in box (x, y, width, height) are within `tolerance`
    of colour `rgb` (anti-aliasing blends edges)."""
    x0, y0, w, h = box
    n = 0
    for row in rows[max(y0, 0):y0 + h]:
        for x in range(max(x0, 0), min(x0 + w, len(row) // 3)):
            r, g, b = row[3 * x:3 * x + 3]
            if abs(r - rgb[0]) + abs(g - rgb[1]) + abs(b - rgb[2]) <= tolerance:
                n += 1
    return n
