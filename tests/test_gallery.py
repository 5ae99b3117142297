"""The gallery (docs/gallery/) shows the current data, scenarios and plotting code (issue 21: it was stale for a
commit). docs/make_gallery.py records what each image shows in docs/gallery/contents.json; this test draws every
figure again without rendering it and compares, and checks that each PNG is the one the record was written with.
PNG bytes are never compared with a fresh rendering: they depend on fonts and library versions."""

import hashlib
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
try:
    import make_gallery
finally:
    sys.path.remove(str(ROOT / "docs"))

RTOL = 1e-6  # the numbers are recorded to 10 significant digits; solver noise across machines is far below this
ATOL = 1e-6  # dataset units (USD million) or percent: what no drawn label or bar can show


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(make_gallery.CONTENTS.read_text(encoding="utf-8"))["images"]


@pytest.fixture(scope="module")
def drawn_now() -> dict:
    """What each gallery figure shows when drawn now (figures built, never rendered)."""
    return {name: make_gallery.contents(fig) for _, name, fig, _, _ in make_gallery.figures()}


def differences(recorded, now, where="") -> list[str]:
    """Where ``now`` differs from ``recorded``: texts exactly, numbers to RTOL/ATOL."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        if recorded.keys() != now.keys():
            return [f"{where}: keys {sorted(recorded)} -> {sorted(now)}"]
        return [d for key in recorded for d in differences(recorded[key], now[key], f"{where}.{key}")]
    if isinstance(recorded, list) and isinstance(now, list):
        if len(recorded) != len(now):
            return [f"{where}: {len(recorded)} items -> {len(now)}: {str(recorded)[:200]} -> {str(now)[:200]}"]
        return [d for i, (a, b) in enumerate(zip(recorded, now)) for d in differences(a, b, f"{where}[{i}]")]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (recorded, now))
    if numbers and math.isclose(recorded, now, rel_tol=RTOL, abs_tol=ATOL):
        return []
    return [] if not numbers and recorded == now else [f"{where}: {recorded!r} -> {now!r}"]


def test_every_image_is_recorded(recorded):
    assert tuple(recorded) == make_gallery.IMAGES
    assert sorted(p.name for p in make_gallery.GALLERY.glob("*.png")) == sorted(make_gallery.IMAGES
                                                                                + make_gallery.SCREENSHOTS)


def test_each_png_is_the_one_its_record_was_written_with(recorded):
    for name, entry in recorded.items():
        png = (make_gallery.GALLERY / name).read_bytes()
        assert hashlib.sha256(png).hexdigest() == entry["sha256"], f"{name}: run python docs/make_gallery.py"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # the IHDR chunk
        assert [width, height] == entry["shows"]["size_px"], name


def test_the_gallery_shows_the_current_data_and_plots(recorded, drawn_now, tmp_path):
    stale = {name: differences(recorded[name]["shows"], drawn_now[name]) for name in recorded}
    stale = {name: found for name, found in stale.items() if found}
    if stale:
        (tmp_path / "contents_now.json").write_text(json.dumps(drawn_now, indent=1, ensure_ascii=False),
                                                    encoding="utf-8")
        lines = [f"{name}: {len(found)} differences, first {found[:3]}" for name, found in stale.items()]
        pytest.fail("the gallery is stale: run python docs/make_gallery.py and commit docs/gallery/ "
                    f"(what it shows now: {tmp_path / 'contents_now.json'})\n" + "\n".join(lines))


def test_a_changed_number_is_found():
    """The comparison itself: one bar a thousandth higher, or one label changed, is a difference."""
    shows = {"axes": [{"bars": [[0.0, 0.0, 0.5, -1371.2]], "texts": [["\u22121,371", 0.5, -1371.2]]}]}
    higher = {"axes": [{"bars": [[0.0, 0.0, 0.5, -1372.5712]], "texts": [["\u22121,371", 0.5, -1371.2]]}]}
    relabelled = {"axes": [{"bars": [[0.0, 0.0, 0.5, -1371.2]], "texts": [["\u22121,372", 0.5, -1371.2]]}]}
    assert differences(shows, json.loads(json.dumps(shows))) == []
    assert differences(shows, higher) == [".axes[0].bars[0][3]: -1371.2 -> -1372.5712"]
    assert differences(shows, relabelled) == [".axes[0].texts[0][0]: '\u22121,371' -> '\u22121,372'"]
