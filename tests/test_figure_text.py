"""No text overlaps text in any report figure, in English or Danish.

Every report notebook is run in this process, as the report runs it (its parameter cell
overridden), on a tiny synthetic extract; every figure it exports passes through
``paleval.report.export.save_figure``, where the test draws it and collects the rendered
boxes of every visible text (titles, axis labels, tick labels, legend entries, annotations,
notes). Two texts overlap when their boxes share more than a fifth of the smaller one.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
pytestmark = pytest.mark.slow


def _tick_labels(fig: Any) -> tuple[set[int], set[int]]:
    """Ids of every tick label text of ``fig``, and of those drawn (current ticks inside the
    view; matplotlib keeps spare tick objects with stale labels that it does not draw)."""
    every, drawn = set(), set()
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = min(lo, hi), max(lo, hi)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                every.update((id(tick.label1), id(tick.label2)))
            for minor in (False, True):
                for t in axis.get_ticklabels(minor=minor, which="both"):
                    v = t.get_position()[0 if axis is ax.xaxis else 1]
                    if lo - 1e-9 <= v <= hi + 1e-9:
                        drawn.add(id(t))
    return every, drawn


def _shown(text: Any, ticks: tuple[set[int], set[int]]) -> bool:
    """A text that is drawn: visible, non-empty, in a visible axes, and a tick label only
    where its tick is drawn."""
    if not text.get_visible() or not text.get_text().strip():
        return False
    ax = text.axes
    if ax is not None and not ax.get_visible():
        return False
    every, drawn = ticks
    return id(text) not in every or id(text) in drawn


def text_overlaps(fig: Any, share: float = 0.2) -> list[tuple[str, str]]:
    """Pairs of drawn texts of ``fig`` whose boxes overlap by more than ``share`` of the
    smaller box."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = _tick_labels(fig)
    boxes = [
        (t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(Text) if _shown(t, ticks)
    ]
    out = []
    for (s1, b1), (s2, b2) in itertools.combinations(boxes, 2):
        w = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        h = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        if w <= 0 or h <= 0:
            continue
        smaller = min(b1.width * b1.height, b2.width * b2.height)
        if smaller > 0 and w * h > share * smaller:
            out.append((s1, s2))
    return out


def _override(source: str, params: dict[str, Any]) -> str:
    """The notebook's code with a cell after its parameters cell that sets ``params``."""
    marker = re.search(r'^# %% tags=\["parameters"\]\n(?:.*\n)*?(?=^# %%)', source, re.M)
    assert marker, "no parameters cell"
    extra = "".join(f"{k} = {v!r}\n" for k, v in params.items())
    return source[: marker.end()] + "# %%\n" + extra + "\n" + source[marker.end() :]


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from paleval.synth import SynthConfig, generate

    data = tmp_path_factory.mktemp("figures") / "tiny"
    generate(SynthConfig.from_preset("tiny", seed=5), data)
    return data


def test_the_overlap_check_sees_an_overlap() -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title("A long title that runs into the other text")
    ax.text(0.5, 1.02, "Some text on top of it", transform=ax.transAxes, ha="center")
    assert text_overlaps(fig)
    ax.texts[0].set_position((0.5, 0.5))
    assert not text_overlaps(fig)
    plt.close(fig)


@pytest.mark.parametrize("lang", ["en", "da"])
def test_no_text_overlaps_in_any_report_figure(
    extract: Path, tmp_path: Path, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    import matplotlib.pyplot as plt

    # the module, not the function ``paleval.report.export`` that shadows it
    export_module = importlib.import_module("paleval.report.export")

    found: dict[str, list[tuple[str, str]]] = {}
    seen: list[str] = []

    def check(fig: Any, path: Path, formats: Any = ()) -> list[Path]:
        seen.append(Path(path).name)
        overlaps = text_overlaps(fig)
        if overlaps:
            found[Path(path).name] = overlaps
        return []

    monkeypatch.setattr(export_module, "save_figure", check)
    monkeypatch.chdir(tmp_path)
    params = {
        "data_dir": str(extract),
        "lang": lang,
        "output_dir": str(tmp_path / "out"),
        "formats": ["png"],
        "cache_dir": str(extract.parent / "cache"),
    }
    for nb in NOTEBOOKS:
        code = _override(nb.read_text(encoding="utf-8"), params)
        exec(compile(code, str(nb), "exec"), {"__name__": nb.stem})
        plt.close("all")
    assert len(seen) >= 20  # every notebook exported its figures through the check
    assert not found, "\n".join(f"{name}: {pairs[:4]}" for name, pairs in sorted(found.items()))
