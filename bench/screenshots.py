"""The README's screenshots of the outlet report, taken with headless Chromium.

Run in a folder where the README's main job and "Label your own articles" have run (their
`runs/outlets/report.html`, hand labels, and `runs/my-outlets/report.html`, model labels):

    apt-get install -y chromium          # once
    python bench/screenshots.py [--runs runs] [--chromium chromium]

Each page is shot at 1200 x 1600 CSS pixels, scaled to 900 pixels wide and reduced to 256 colours
(Pillow, installed with matplotlib), and written to docs/img/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SHOTS = {"outlets": "report-hand-labels.png", "my-outlets": "report-model-labels.png"}


def shoot(chromium: str, page: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "shot.png"
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={raw}", "--window-size=1200,1600", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=180)
        image = Image.open(raw).convert("RGB")
        image = image.resize((900, round(image.height * 900 / image.width)), Image.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--chromium", default="chromium")
    args = parser.parse_args()
    for folder, name in SHOTS.items():
        page = args.runs / folder / "report.html"
        if not page.is_file():
            print(f"{page}: not found (run the README's main job and 'Label your own articles' first)")
            return 2
        out = REPO / "docs" / "img" / name
        shoot(args.chromium, page, out)
        print(f"wrote {out.relative_to(REPO)} ({out.stat().st_size // 1024} KB) from {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
