"""What the student's code printed, as reports show it: a long output cut to its head and its tail, with a line
saying how much was left out and how much was printed in all (an output flood reads as its first and last lines
and its size, never as 64 KiB of noise)."""
from __future__ import annotations

import re

MARKER = re.compile(r"^\[\.\.\. .* not (kept|shown).*\.\.\.\]$")
LINE_CHARS = 240
"""A printed line longer than this is shown cut (a flood may have no newline at all)."""


def size(count: int) -> str:
    """A byte count in words: ``512 bytes``, ``3.2 KiB``, ``10.0 MiB``."""
    if count >= 2**20:
        return f"{count / 2**20:.1f} MiB"
    return f"{count / 1024:.1f} KiB" if count >= 1024 else f"{count} bytes"


def cut_marker(hidden: int, total: int) -> str:
    """The line standing for ``hidden`` bytes of output that were not kept, of ``total`` printed."""
    return f"[... {size(hidden)} of output not kept: {size(total)} printed in all ...]"


def shortened(text: str, limit: int, tail: int) -> str:
    """``text`` within about ``limit`` characters: its head and its last ``tail`` characters, the lines that said
    what an earlier cut left out kept between them, and a line for what this cut leaves out. (The lines an earlier
    cut wrote do not count toward ``limit``.)"""
    if len(text) - sum(len(line) + 2 for line in text.splitlines() if MARKER.match(line)) <= limit:
        return text
    head, middle, end = text[:limit - tail], text[limit - tail:-tail], text[-tail:]
    kept = [line for line in middle.splitlines() if MARKER.match(line)]
    return "\n".join([head.rstrip("\n"), *kept, f"[... {size(len(middle.encode()))} of output not shown ...]",
                      end.lstrip("\n")])


def excerpt(text: str, lines: int = 20) -> list[str]:
    """At most about ``lines`` lines to show: the first and the last half, each cut at LINE_CHARS, and between
    them one line saying how many were left out (with the lines that say how much was printed)."""
    every = text.splitlines()
    if len(every) > lines:
        half = lines // 2
        middle = every[half:-half]
        kept = [line for line in middle if MARKER.match(line)]
        every = [*every[:half], *kept, f"[... {len(middle) - len(kept)} more lines not shown ...]", *every[-half:]]
    return [line if len(line) <= LINE_CHARS or MARKER.match(line) else
            f"{line[:LINE_CHARS]} [... {size(len(line.encode()) - LINE_CHARS)} more on this line]" for line in every]
