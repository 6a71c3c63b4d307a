"""What the student's code printed, as reports show it: head and tail, and how much was left out."""
from __future__ import annotations

from grader.report.printed import cut_marker, excerpt, shortened
from grader.sandbox.channel import TAIL_BYTES, CappedOutput


def test_a_short_output_is_shown_whole():
    assert excerpt("epoch 1\nepoch 2\n") == ["epoch 1", "epoch 2"]
    assert shortened("abc", 10, 2) == "abc"


def test_a_long_output_shows_its_first_and_last_lines_and_how_many_were_left_out():
    lines = [f"epoch {n}" for n in range(1, 101)]
    shown = excerpt("\n".join(lines), 20)
    assert shown[:10] == lines[:10] and shown[-10:] == lines[-10:]
    assert shown[10] == "[... 80 more lines not shown ...]" and len(shown) == 21


def test_what_an_earlier_cut_said_survives_later_cuts():
    output = CappedOutput(64 * 1024, flood=8 << 20)
    for n in range(200):
        output.add(f"line {n} ".encode() * 1000 + b"\n")
    text = output.text()
    assert len(text) <= 64 * 1024 + 100 and text.rstrip().endswith("line 199") and text.startswith("line 0 ")
    marker = cut_marker(output.dropped - TAIL_BYTES, len(output.data) + output.dropped)
    assert marker in text and "printed in all" in marker
    shown = excerpt(shortened(text + "\n" + "tail\n" * 30, 20_000, 2_000), 20)
    assert marker in shown and shown[-1] == "tail" and len(shown) <= 23
