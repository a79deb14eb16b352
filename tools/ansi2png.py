#!/usr/bin/env python3
"""Render a terminal screen dump with ANSI colours to a PNG.

    tmux capture-pane -e -p -t SESSION > screen.ansi
    python3 tools/ansi2png.py screen.ansi -o screen.png [--cols 110 --rows 32]
                              [--font-size 16] [--theme dark|light] [--padding 10]

Dev-only tool (used by tools/screenshots.sh); it needs Pillow, which the rest of tools/ does
not:  python3 -m pip install --user pillow   (any Pillow >= 9.2).

Input is what `tmux capture-pane -e -p` prints: text plus SGR escapes, the attribute state
carrying over from one line to the next as on a terminal.  Understood: reset, bold, dim,
italic, underline (incl. 4:N styles), blink (ignored), reverse, hidden, strike-through,
overline, the 8/16 colours (30-37, 90-97, 40-47, 100-107), 256 colours (38;5;N) and truecolour
(38;2;R;G;B), with `;` or `:` separators; other escapes (CSI, OSC, DCS, charset) are skipped.

Cells are a fixed grid (width = the font's advance rounded to whole pixels).  Every character is
drawn at its own cell, so the layout never drifts.  East Asian wide/fullwidth characters take two
cells; combining marks join the previous cell.  Box drawing (U+2500-257F: light, heavy, double,
mixed, dashed, rounded, diagonal), block elements (U+2580-259F: eighths ▏▎▍▌▋▊▉█ ▁…▇, halves,
quadrants, shades ░▒▓) and braille (U+2800-28FF) are drawn as geometry rather than from the font,
so lines join across cells and partial blocks fill exact fractions of the cell.  Other characters
come from DejaVu Sans Mono (bold/oblique faces for bold/italic) and, when it has no glyph, from
DejaVu Sans, then from any --fallback font, centred in their cell(s).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from dataclasses import dataclass, replace

try:
    from PIL import Image, ImageDraw, ImageFont
except ImportError:  # pragma: no cover
    sys.exit("ansi2png.py needs Pillow: python3 -m pip install --user pillow")

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FACES = {
    (False, False): "DejaVuSansMono.ttf",
    (True, False): "DejaVuSansMono-Bold.ttf",
    (False, True): "DejaVuSansMono-Oblique.ttf",
    (True, True): "DejaVuSansMono-BoldOblique.ttf",
}
FALLBACK_FACES = [
    "DejaVuSans.ttf",
    # wide (CJK) glyphs, if one of these common fonts is installed; else --fallback FILE
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
]

THEMES = {
    # default fg, default bg, then the 16 ANSI colours (Tango, as in GNOME Terminal)
    "dark": ("#d3d7cf", "#1c1c1c", [
        "#2e3436", "#cc0000", "#4e9a06", "#c4a000", "#3465a4", "#75507b", "#06989a", "#d3d7cf",
        "#555753", "#ef2929", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#eeeeec",
    ]),
    "light": ("#2e3436", "#fafafa", [
        "#2e3436", "#cc0000", "#4e9a06", "#a07c00", "#3465a4", "#75507b", "#06989a", "#b8bcb4",
        "#555753", "#ef2929", "#3f7a00", "#c4a000", "#204a87", "#ad7fa8", "#057a7c", "#eeeeec",
    ]),
}


def hex_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def xterm256(n: int, base16: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    if n < 16:
        return base16[n]
    if n < 232:
        n -= 16
        lv = [0, 95, 135, 175, 215, 255]
        return lv[n // 36], lv[(n // 6) % 6], lv[n % 6]
    g = 8 + 10 * (n - 232)
    return g, g, g


# ------------------------------------------------------------------------- parsing

@dataclass(frozen=True)
class Attr:
    fg: object = None  # None (default) | int palette index | (r, g, b)
    bg: object = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    hidden: bool = False
    strike: bool = False
    overline: bool = False


@dataclass
class Cell:
    ch: str = " "
    attr: Attr = Attr()
    width: int = 1  # 2 for the first cell of a wide char, 0 for its continuation


ESC_RE = re.compile(
    r"\x1b\[([0-9;:<=>?]*)([ -/]*)([@-~])"   # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"     # OSC
    r"|\x1b[PX^_][^\x1b]*\x1b\\"              # DCS, SOS, PM, APC
    r"|\x1b[()*+][0-9A-Za-z]"                 # charset designation
    r"|\x1b[^\[\]PX^_()*+]"                   # other two-byte escapes
)


def apply_sgr(a: Attr, params: str) -> Attr:
    """Applies one SGR parameter string (`1;38;5;3`, `38:2::10:20:30`, ``) to an Attr."""
    groups = [g.split(":") for g in params.split(";")] if params else [["0"]]
    i = 0

    def num(s: str, d: int = 0) -> int:
        try:
            return int(s) if s != "" else d
        except ValueError:
            return d

    def ext_colour(j: int) -> tuple[object, int]:
        """Parses 38/48/58 arguments starting at groups[j]; returns (colour, next index)."""
        g = groups[j]
        if len(g) > 1:  # colon form: 38:5:N or 38:2:[cs]:R:G:B
            sub = g[1:]
            if sub and num(sub[0]) == 5 and len(sub) >= 2:
                return num(sub[1]) & 255, j + 1
            if sub and num(sub[0]) == 2:
                rgb = sub[1:]
                if len(rgb) >= 4:
                    rgb = rgb[1:]  # colour-space id
                rgb = (rgb + ["0", "0", "0"])[:3]
                return tuple(max(0, min(255, num(x))) for x in rgb), j + 1
            return None, j + 1
        kind = num(groups[j + 1][0]) if j + 1 < len(groups) else -1
        if kind == 5 and j + 2 < len(groups):
            return num(groups[j + 2][0]) & 255, j + 3
        if kind == 2 and j + 4 < len(groups):
            return tuple(max(0, min(255, num(groups[k][0]))) for k in (j + 2, j + 3, j + 4)), j + 5
        return None, len(groups)  # malformed: give up on the rest

    while i < len(groups):
        g = groups[i]
        c = num(g[0])
        nxt = i + 1
        if c == 0:
            a = Attr()
        elif c == 1:
            a = replace(a, bold=True)
        elif c == 2:
            a = replace(a, dim=True)
        elif c == 3:
            a = replace(a, italic=True)
        elif c == 4:
            a = replace(a, underline=not (len(g) > 1 and num(g[1]) == 0))
        elif c == 7:
            a = replace(a, reverse=True)
        elif c == 8:
            a = replace(a, hidden=True)
        elif c == 9:
            a = replace(a, strike=True)
        elif c == 21:
            a = replace(a, underline=True)
        elif c == 22:
            a = replace(a, bold=False, dim=False)
        elif c == 23:
            a = replace(a, italic=False)
        elif c == 24:
            a = replace(a, underline=False)
        elif c == 27:
            a = replace(a, reverse=False)
        elif c == 28:
            a = replace(a, hidden=False)
        elif c == 29:
            a = replace(a, strike=False)
        elif 30 <= c <= 37:
            a = replace(a, fg=c - 30)
        elif c == 39:
            a = replace(a, fg=None)
        elif 40 <= c <= 47:
            a = replace(a, bg=c - 40)
        elif c == 49:
            a = replace(a, bg=None)
        elif c == 53:
            a = replace(a, overline=True)
        elif c == 55:
            a = replace(a, overline=False)
        elif 90 <= c <= 97:
            a = replace(a, fg=c - 90 + 8)
        elif 100 <= c <= 107:
            a = replace(a, bg=c - 100 + 8)
        elif c in (38, 48, 58):
            col, nxt = ext_colour(i)
            if c == 38:
                a = replace(a, fg=col)
            elif c == 48:
                a = replace(a, bg=col)
        # everything else (blink 5/6/25, fonts 10-19, frames, 59 ...) is ignored
        i = nxt
    return a


def char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text: str) -> list[list[Cell]]:
    """Screen dump -> rows of cells (attribute state carries over lines, as in tmux -e output)."""
    rows: list[list[Cell]] = []
    attr = Attr()
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        row: list[Cell] = []
        pos = 0
        for m in ESC_RE.finditer(line):
            put_text(row, line[pos:m.start()], attr)
            if m.group(3) == "m" and not m.group(2) and not (m.group(1) or "").startswith(("<", "=", ">", "?")):
                attr = apply_sgr(attr, m.group(1) or "")
            pos = m.end()
        put_text(row, line[pos:], attr)
        rows.append(row)
    if rows and not rows[-1]:
        rows.pop()  # the newline at the end of the dump
    return rows


def put_text(row: list[Cell], s: str, attr: Attr) -> None:
    for ch in s:
        if ch == "\t":
            for _ in range(8 - len(row) % 8):
                row.append(Cell(" ", attr))
            continue
        if ord(ch) < 32 or ord(ch) == 127:
            continue
        w = char_width(ch)
        if w == 0:
            if row:
                base = row[-1] if row[-1].width != 0 else row[-2]
                base.ch += ch
            continue
        row.append(Cell(ch, attr, w))
        if w == 2:
            row.append(Cell("", attr, 0))


# ------------------------------------------------------------------------- geometry glyphs

BOX_W = {"LIGHT": 1, "SINGLE": 1, "HEAVY": 2, "DOUBLE": 3}
BOX_DIRS = {"LEFT": "l", "RIGHT": "r", "UP": "u", "DOWN": "d", "HORIZONTAL": "lr", "VERTICAL": "ud"}


def box_spec(ch: str):
    """Parses a U+2500-257F name into ('lines', {arm: weight}) / ('dash', ...) / ('arc', ...)."""
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    if not name.startswith("BOX DRAWINGS "):
        return None
    words = name[len("BOX DRAWINGS "):].split()
    if "DIAGONAL" in words:
        rest = " ".join(words)
        return ("diag", ("UPPER RIGHT TO LOWER LEFT" in rest or "CROSS" in rest,
                         "UPPER LEFT TO LOWER RIGHT" in rest or "CROSS" in rest))
    if "ARC" in words:
        dirs = "".join(BOX_DIRS[w] for w in words if w in BOX_DIRS)
        return ("arc", dirs)
    if "DASH" in words:
        n = {"DOUBLE": 2, "TRIPLE": 3, "QUADRUPLE": 4}[words[1]]
        w = BOX_W[words[0]]
        return ("dash", (n, w, "HORIZONTAL" in words))
    segs, cur = [], []
    for w in words:
        if w == "AND":
            segs.append(cur)
            cur = []
        else:
            cur.append(w)
    segs.append(cur)
    weights = [next((BOX_W[w] for w in s if w in BOX_W), None) for s in segs]
    arms: dict[str, int] = {}
    for k, s in enumerate(segs):
        wt = weights[k]
        if wt is None:  # inherit from the nearest segment that names a weight
            wt = next((weights[j] for j in range(k - 1, -1, -1) if weights[j]), None) or \
                next((weights[j] for j in range(k + 1, len(segs)) if weights[j]), 1)
        for w in s:
            for d in BOX_DIRS.get(w, ""):
                arms[d] = wt
    return ("lines", arms) if arms else None


class Painter:
    def __init__(self, img: Image.Image, cw: int, chh: int):
        self.img = img
        self.d = ImageDraw.Draw(img)
        self.cw, self.ch = cw, chh
        self.light = max(1, round(cw / 10))  # 1 px at 16 px text, 2 px at 32 px
        self.heavy = 3 if self.light == 1 else 2 * self.light + 1

    def rect(self, x0, y0, x1, y1, fill):
        if x1 > x0 and y1 > y0:
            self.d.rectangle([x0, y0, x1 - 1, y1 - 1], fill=fill)

    def hline(self, x0, x1, yc, t, fill):
        self.rect(x0, yc - t // 2, x1, yc - t // 2 + t, fill)

    def vline(self, y0, y1, xc, t, fill):
        self.rect(xc - t // 2, y0, xc - t // 2 + t, y1, fill)

    def box(self, ch: str, x: int, y: int, fg) -> bool:
        spec = box_spec(ch)
        if spec is None:
            return False
        kind, arg = spec
        cw, chh = self.cw, self.ch
        xc, yc = x + cw // 2, y + chh // 2
        L, H = self.light, self.heavy
        if kind == "lines":
            self.lines(arg, x, y, fg)
            return True
        if kind == "dash":
            n, wt, horiz = arg
            t = L if wt == 1 else H
            span = cw if horiz else chh
            seg = span / n
            for k in range(n):
                a0 = round(k * seg + seg * 0.15)
                a1 = round((k + 1) * seg - seg * 0.15)
                if horiz:
                    self.hline(x + a0, x + a1, yc, t, fg)
                else:
                    self.vline(y + a0, y + a1, xc, t, fg)
            return True
        if kind == "arc":
            dirs = arg  # e.g. "dr" for ╭
            r = min(cw, chh) // 2
            # straight parts from the edges to where the quarter circle starts
            if "d" in dirs:
                self.vline(yc + r, y + chh, xc, L, fg)
            if "u" in dirs:
                self.vline(y, yc - r + 1, xc, L, fg)
            if "r" in dirs:
                self.hline(xc + r, x + cw, yc, L, fg)
            if "l" in dirs:
                self.hline(x, xc - r + 1, yc, L, fg)
            cx = xc + (r if "r" in dirs else -r)
            cy = yc + (r if "d" in dirs else -r)
            start = {"dr": 180, "dl": 270, "lu": 0, "ru": 90}["".join(sorted(dirs))]
            self.d.arc([cx - r, cy - r, cx + r, cy + r], start, start + 90, fill=fg, width=L)
            return True
        if kind == "diag":
            rl, lr = arg
            if rl:
                self.d.line([x + cw - 1, y, x, y + chh - 1], fill=fg, width=L)
            if lr:
                self.d.line([x, y, x + cw - 1, y + chh - 1], fill=fg, width=L)
            return True
        return False

    def lines(self, arms: dict, x: int, y: int, fg) -> None:
        """Box-drawing arms (l, r, u, d -> 1 light, 2 heavy, 3 double) that join across cells.

        Each stroke of an arm runs from the cell edge to the stroke of the crossing line it
        meets: the near stroke of a double line that goes straight through, the far stroke of a
        double corner, the centre of a single/heavy one -- so ╔╦╗╠╬╣╚╩╝╒╤╕╓╥╖ look right too.
        """
        cw, chh, L, H = self.cw, self.ch, self.light, self.heavy
        xc, yc = x + cw // 2, y + chh // 2
        gap = max(L + 1, cw // 5)  # centre to each stroke of a double line
        thick = {1: L, 2: H, 3: L}
        span = {1: L, 2: H, 3: 2 * gap + L}

        for a, wt in arms.items():
            horiz = a in "lr"
            neg = a in "lu"  # the arm runs from the left/top edge to the centre
            c = xc if horiz else yc
            p1, p2 = ("u", "d") if horiz else ("l", "r")  # the crossing arms, by side
            opposite = {"l": "r", "r": "l", "u": "d", "d": "u"}[a]
            t = thick[wt]

            def reach(o, tt):
                """Where this arm's stroke ends so it covers a crossing stroke at offset o."""
                return c + o - tt // 2 + tt if neg else c + o - tt // 2

            near, far = (-gap, gap) if neg else (gap, -gap)
            strokes = []
            if wt != 3:
                perp = {s: arms[s] for s in (p1, p2) if s in arms}
                if not perp:
                    end = reach(0, span[wt])
                elif 3 in perp.values():
                    if opposite in arms:
                        end = reach(0, L)
                    elif perp.get(p1) == 3 and perp.get(p2) == 3:
                        end = reach(near, L)
                    else:
                        end = reach(far, L)
                else:
                    end = reach(0, max(span[w] for w in perp.values()))
                strokes.append((0, end))
            else:
                for o in (-gap, gap):
                    side, other = (p1, p2) if o < 0 else (p2, p1)
                    if side not in arms and other not in arms:
                        end = reach(0, L)
                    elif side in arms:
                        end = reach(near, L) if arms[side] == 3 else reach(0, thick[arms[side]])
                    else:
                        end = reach(far, L) if arms[other] == 3 else reach(0, thick[arms[other]])
                    strokes.append((o, end))
            for o, end in strokes:
                if horiz:
                    x0, x1 = (x, end) if neg else (end, x + cw)
                    self.hline(x0, x1, yc + o, t, fg)
                else:
                    y0, y1 = (y, end) if neg else (end, y + chh)
                    self.vline(y0, y1, xc + o, t, fg)

    def block(self, ch: str, x: int, y: int, fg, bg) -> bool:
        o = ord(ch)
        cw, chh = self.cw, self.ch
        if 0x2581 <= o <= 0x2588:  # ▁▂▃▄▅▆▇█ lower n/8
            h = round(chh * (o - 0x2580) / 8)
            self.rect(x, y + chh - h, x + cw, y + chh, fg)
        elif 0x2589 <= o <= 0x258F:  # ▉▊▋▌▍▎▏ left n/8
            w = max(1, round(cw * (0x2590 - o) / 8))
            self.rect(x, y, x + w, y + chh, fg)
        elif o == 0x2580:  # ▀
            self.rect(x, y, x + cw, y + chh // 2, fg)
        elif o == 0x2590:  # ▐
            self.rect(x + cw // 2, y, x + cw, y + chh, fg)
        elif o == 0x2594:  # ▔
            self.rect(x, y, x + cw, y + max(1, round(chh / 8)), fg)
        elif o == 0x2595:  # ▕
            self.rect(x + cw - max(1, round(cw / 8)), y, x + cw, y + chh, fg)
        elif 0x2591 <= o <= 0x2593:  # ░▒▓
            k = (o - 0x2590) / 4
            mix = tuple(round(b + (f - b) * k) for f, b in zip(fg, bg))
            self.rect(x, y, x + cw, y + chh, mix)
        elif 0x2596 <= o <= 0x259F:  # quadrants: bits UL UR LL LR
            q = {0x2596: "0010", 0x2597: "0001", 0x2598: "1000", 0x2599: "1011", 0x259A: "1001",
                 0x259B: "1110", 0x259C: "1101", 0x259D: "0100", 0x259E: "0110", 0x259F: "0111"}[o]
            hx, hy = cw // 2, chh // 2
            boxes = [(x, y, x + hx, y + hy), (x + hx, y, x + cw, y + hy),
                     (x, y + hy, x + hx, y + chh), (x + hx, y + hy, x + cw, y + chh)]
            for bit, b in zip(q, boxes):
                if bit == "1":
                    self.rect(*b, fg)
        elif 0x2800 <= o <= 0x28FF:  # braille
            bits = o - 0x2800
            dots = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)]
            r = max(1, cw // 6)
            for k, (dx, dy) in enumerate(dots):
                if bits >> k & 1:
                    cx = x + round(cw * (0.3 + 0.4 * dx))
                    cy = y + round(chh * (0.15 + 0.233 * dy))
                    self.d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
        else:
            return False
        return True


# ------------------------------------------------------------------------- rendering

class Fonts:
    def __init__(self, size: int, font_dir: str, fallbacks: list[str]):
        self.faces = {k: ImageFont.truetype(os.path.join(font_dir, f), size) for k, f in FACES.items()}
        self.fallbacks = []
        for f in FALLBACK_FACES + fallbacks:
            p = f if os.path.isabs(f) else os.path.join(font_dir, f)
            if os.path.exists(p):
                self.fallbacks.append(ImageFont.truetype(p, size))
        self._notdef: dict[int, bytes] = {}
        self._pick: dict[tuple, ImageFont.FreeTypeFont] = {}

    def _has(self, font, ch: str) -> bool:
        key = id(font)
        if key not in self._notdef:
            self._notdef[key] = bytes(font.getmask("\U0010FFFD"))
        m = font.getmask(ch)
        return bytes(m) != self._notdef[key] or ch.isspace()

    def pick(self, ch: str, bold: bool, italic: bool):
        k = (ch, bold, italic)
        if k not in self._pick:
            f = self.faces[(bold, italic)]
            if not self._has(f, ch[0]):
                f = next((fb for fb in self.fallbacks if self._has(fb, ch[0])), f)
            self._pick[k] = f
        return self._pick[k]


def render(rows: list[list[Cell]], cols: int | None, nrows: int | None, font_size: int,
           theme: str, padding: int, font_dir: str, fallbacks: list[str],
           bold_is_bright: bool) -> Image.Image:
    dfg, dbg, pal = THEMES[theme]
    dfg, dbg = hex_rgb(dfg), hex_rgb(dbg)
    base16 = [hex_rgb(c) for c in pal]
    fonts = Fonts(font_size, font_dir, fallbacks)
    regular = fonts.faces[(False, False)]
    ascent, descent = regular.getmetrics()
    cw = max(1, round(regular.getlength("M")))
    chh = ascent + descent
    ncols = cols or max((len(r) for r in rows), default=1)
    nrows = nrows or len(rows)
    W, H = ncols * cw + 2 * padding, nrows * chh + 2 * padding
    img = Image.new("RGB", (W, H), dbg)
    p = Painter(img, cw, chh)
    d = p.d

    def colour(c, default, bold=False):
        if c is None:
            return default
        if isinstance(c, int):
            if bold and bold_is_bright and c < 8:
                c += 8
            return xterm256(c, base16)
        return c

    for ry, row in enumerate(rows[:nrows]):
        y = padding + ry * chh
        for cx, cell in enumerate(row[:ncols]):
            if cell.width == 0:
                continue
            a = cell.attr
            fg = colour(a.fg, dfg, a.bold)
            bg = colour(a.bg, dbg)
            if a.reverse:
                fg, bg = bg, fg
            if a.dim:
                fg = tuple((f + b) // 2 for f, b in zip(fg, bg))
            if a.hidden:
                fg = bg
            x = padding + cx * cw
            w = cw * cell.width
            if bg != dbg:
                p.rect(x, y, x + min(w, (ncols - cx) * cw), y + chh, bg)
            ch = cell.ch
            if ch != " " and ch:
                if not (len(ch) == 1 and (p.box(ch, x, y, fg) or p.block(ch, x, y, fg, bg))):
                    font = fonts.pick(ch, a.bold, a.italic)
                    adv = font.getlength(ch)
                    tx = x + (w - adv) / 2  # centred in its cell(s)
                    d.text((tx, y + ascent), ch, font=font, fill=fg, anchor="ls")
            if a.underline:
                p.rect(x, y + ascent + 1, x + w, y + ascent + 1 + p.light, fg)
            if a.strike:
                p.rect(x, y + chh // 2, x + w, y + chh // 2 + p.light, fg)
            if a.overline:
                p.rect(x, y, x + w, y + p.light, fg)
    return img


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="screen dump with ANSI escapes ('-' = stdin)")
    ap.add_argument("-o", "--output", required=True, help="PNG to write")
    ap.add_argument("--cols", type=int, help="grid width (default: the longest line)")
    ap.add_argument("--rows", type=int, help="grid height (default: the number of lines)")
    ap.add_argument("--font-size", type=int, default=16, help="pixels (default 16)")
    ap.add_argument("--theme", choices=sorted(THEMES), default="dark")
    ap.add_argument("--padding", type=int, default=10, help="margin in pixels (default 10)")
    ap.add_argument("--font-dir", default=FONT_DIR, help=f"where DejaVu fonts are (default {FONT_DIR})")
    ap.add_argument("--fallback", action="append", default=[], help="extra fallback font file")
    ap.add_argument("--bold-is-bright", action="store_true",
                    help="bold text in colours 0-7 uses the bright variant (old xterm style)")
    ap.add_argument("--colors", type=int, default=0,
                    help="quantize to this many colours to make the PNG smaller (0 = keep RGB)")
    args = ap.parse_args(argv)

    data = sys.stdin.buffer.read() if args.input == "-" else open(args.input, "rb").read()
    text = data.decode("utf-8", errors="replace")
    img = render(parse(text), args.cols, args.rows, args.font_size, args.theme, args.padding,
                 args.font_dir, args.fallback, args.bold_is_bright)
    if args.colors:
        img = img.quantize(colors=args.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    img.save(args.output, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
