"""Makes the GIF corpus the media benchmark measures renditions on.

Photographic GIFs are pans and zooms over the photographs scikit-image
ships (astronaut, coffee, the cat Chelsea, a rocket launch, the Hubble deep
field, a motorcycle), cut to an adaptive 256-colour palette with dithering,
as GIF makers do with video. Flat-colour GIFs are drawn: stickers, a
spinner, a ticker, pixel art, a cartoon over a still background. Pillow
writes every one with frame differencing, as optimising GIF tools do.

Deterministic: the same files every run. Usage: make_corpus.py OUT_DIR
"""

import math
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw
from skimage import data


def photo(name):
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def ken_burns(src, size, frames, zoom=(1.0, 1.4), drift=(0.0, 0.25)):
    """Frames of a slow zoom and pan over `src`."""
    out = []
    w, h = src.size
    for i in range(frames):
        t = i / max(1, frames - 1)
        z = zoom[0] + (zoom[1] - zoom[0]) * t
        cw, ch = w / z, h / z
        aspect = size[0] / size[1]
        if cw / ch > aspect:
            cw = ch * aspect
        else:
            ch = cw / aspect
        x = (w - cw) * (0.5 + (drift[0] + drift[1]) * (t - 0.5))
        y = (h - ch) * (0.5 + drift[1] * math.sin(t * math.pi) * 0.5)
        x = min(max(0, x), w - cw)
        y = min(max(0, y), h - ch)
        out.append(src.crop((x, y, x + cw, y + ch)).resize(size, Image.LANCZOS))
    return out


def quantized(frames):
    return [f.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG) for f in frames]


def save(path, frames, delay_ms):
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=delay_ms, loop=0, optimize=True, disposal=1)


def stickers(size, frames):
    rnd = random.Random(7)
    balls = [(rnd.random() * size[0], rnd.random() * size[1], rnd.uniform(-4, 4), rnd.uniform(-4, 4),
              rnd.randint(8, 28), tuple(rnd.randint(30, 255) for _ in range(3))) for _ in range(9)]
    out = []
    for i in range(frames):
        im = Image.new("RGB", size, (250, 244, 230))
        d = ImageDraw.Draw(im)
        for j, (x, y, vx, vy, r, c) in enumerate(balls):
            px = abs((x + vx * i) % (2 * size[0]) - size[0])
            py = abs((y + vy * i) % (2 * size[1]) - size[1])
            d.ellipse((px - r, py - r, px + r, py + r), fill=c, outline=(20, 20, 20), width=3)
        out.append(im)
    return out


def spinner(size, frames):
    out = []
    for i in range(frames):
        im = Image.new("RGB", size, (255, 255, 255))
        d = ImageDraw.Draw(im)
        cx, cy, r = size[0] / 2, size[1] / 2, size[0] * 0.36
        for k in range(12):
            a = 2 * math.pi * k / 12
            shade = 230 - int(200 * ((k - i) % 12) / 11)
            d.line((cx + r * 0.5 * math.cos(a), cy + r * 0.5 * math.sin(a), cx + r * math.cos(a), cy + r * math.sin(a)),
                   fill=(shade, shade, shade), width=max(2, size[0] // 14))
        out.append(im)
    return out


def ticker(size, frames):
    text = "gifchat  *  posters  *  renditions  *  alt text  *  a library to pick from  *  "
    strip = Image.new("RGB", (len(text) * 14, size[1]), (16, 24, 64))
    d = ImageDraw.Draw(strip)
    for k, ch in enumerate(text):
        d.text((k * 14, size[1] // 2 - 6), ch, fill=(255, 220, 60))
        d.rectangle((k * 14, size[1] - 10, k * 14 + 12, size[1] - 4), fill=(60 + k * 3 % 190, 120, 200))
    out = []
    for i in range(frames):
        im = Image.new("RGB", size, (16, 24, 64))
        off = (i * 6) % strip.size[0]
        im.paste(strip, (-off, 0))
        im.paste(strip, (strip.size[0] - off, 0))
        out.append(im)
    return out


def life(size, frames, cell=4):
    gw, gh = size[0] // cell, size[1] // cell
    rng = np.random.default_rng(3)
    g = rng.random((gh, gw)) < 0.3
    palette = np.array([[12, 12, 20], [120, 255, 140]], dtype=np.uint8)
    out = []
    for _ in range(frames):
        img = palette[g.astype(np.uint8)].repeat(cell, 0).repeat(cell, 1)
        out.append(Image.fromarray(img))
        n = sum(np.roll(np.roll(g, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))
        g = (n == 3) | (g & (n == 2))
    return out


def cartoon_over_photo(size, frames):
    back = photo("coffee").resize(size, Image.LANCZOS)
    out = []
    for i in range(frames):
        im = back.copy()
        d = ImageDraw.Draw(im)
        x = size[0] * 0.1 + (size[0] * 0.8) * (0.5 + 0.5 * math.sin(i / frames * 2 * math.pi))
        y = size[1] * 0.3 + 20 * math.sin(i / 3)
        d.ellipse((x - 30, y - 30, x + 30, y + 30), fill=(255, 210, 0), outline=(0, 0, 0), width=4)
        d.ellipse((x - 12, y - 10, x - 4, y - 2), fill=(0, 0, 0))
        d.ellipse((x + 4, y - 10, x + 12, y - 2), fill=(0, 0, 0))
        d.arc((x - 16, y - 6, x + 16, y + 18), 20, 160, fill=(0, 0, 0), width=3)
        out.append(im)
    return out


CORPUS = [
    # name, kind, frames (a function), delay in ms
    ("photo-astronaut-320x240-40f", "photographic", lambda: quantized(ken_burns(photo("astronaut"), (320, 240), 40)), 80),
    ("photo-coffee-360x240-60f", "photographic", lambda: quantized(ken_burns(photo("coffee"), (360, 240), 60)), 50),
    ("photo-chelsea-240x180-30f", "photographic", lambda: quantized(ken_burns(photo("chelsea"), (240, 180), 30)), 100),
    ("photo-rocket-400x300-60f", "photographic", lambda: quantized(ken_burns(photo("rocket"), (400, 300), 60, zoom=(1.1, 1.6))), 60),
    ("photo-hubble-200x200-72f", "photographic", lambda: quantized(ken_burns(photo("hubble_deep_field"), (200, 200), 72, zoom=(1.0, 2.0))), 40),
    ("photo-motorcycle-160x120-200f", "photographic", lambda: quantized(ken_burns(Image.fromarray(data.stereo_motorcycle()[0]), (160, 120), 200)), 40),
    ("flat-stickers-240x240-60f", "flat colour", lambda: quantized(stickers((240, 240), 60)), 40),
    ("flat-spinner-64x64-24f", "flat colour", lambda: quantized(spinner((64, 64), 24)), 50),
    ("flat-ticker-480x80-120f", "flat colour", lambda: quantized(ticker((480, 80), 120)), 40),
    ("flat-life-256x256-300f", "flat colour", lambda: quantized(life((256, 256), 300)), 30),
    ("mixed-cartoon-over-photo-320x240-48f", "mixed", lambda: quantized(cartoon_over_photo((320, 240), 48)), 60),
    ("flat-stickers-640x480-150f", "flat colour", lambda: quantized(stickers((640, 480), 150)), 40),
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, kind, make, delay in CORPUS:
        path = os.path.join(out, f"{name}.gif")
        if os.path.exists(path):
            continue
        save(path, make(), delay)
        print(f"{name}.gif ({kind}): {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
