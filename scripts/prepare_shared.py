"""Rebuild ``data/prepared`` from ``../shared/photos`` with the shipped models' splits.

The shipped models were trained on a split made in two steps (models/README.md,
"Training data"): ``prepare`` of the 11,016 photos of the earlier collection
(which reproduces that collection's split exactly), then ``prepare`` of the whole
collection with ``--keep-splits`` on it, so that no validation or test photo of
earlier models moved into training. The earlier collection is every manifest row
whose source is not one of the repositories added on 2026-12-02 (the photos'
README.md, "Added 2026-12-02"), autumn excluded (a new category).

    python scripts/prepare_shared.py [--photos ../shared/photos] [--out data/prepared]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.training.prepare import prepare  # noqa: E402

#: The repositories the photos' README lists under "Added 2026-12-02".
ADDED_2026_12_02 = frozenset({
    "Yorkbenno/Spatial-Pyramid-Matching-for-Scene-Classification",
    "charbitz/Computer_Vision_Projects",
    "RajithaSampathV/CycleGAN-implementation",
    "andre3racks/scene-classification",
    "akshay993/Spatial-Pyramid-Matching-for-Scene-Classification",
    "jw995/Computer-Vision__Scene-classification-system-using-bag-of-words",
    "shrikiran1999/scene-classification",
})
NEW_CATEGORIES = frozenset({"autumn"})
EARLIER_PHOTOS = 11016


def earlier_collection(photos: Path, dest: Path) -> int:
    """Link the earlier collection's photos into ``dest/<category>/`` (same names)."""
    with open(photos / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f)
                if r["source_repo"] not in ADDED_2026_12_02
                and r["category"] not in NEW_CATEGORIES]
    for r in rows:
        link = dest / r["file"]
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to((photos / r["file"]).resolve())
    return len(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, default=Path("../shared/photos"))
    ap.add_argument("--out", type=Path, default=Path("data/prepared"))
    args = ap.parse_args()
    legacy_src = args.out.with_name(args.out.name + "-legacy-src")
    legacy = args.out.with_name(args.out.name + "-legacy")
    n = earlier_collection(args.photos, legacy_src)
    if n != EARLIER_PHOTOS:
        print(f"{args.photos}/manifest.csv: {n} photos of the earlier collection, "
              f"expected {EARLIER_PHOTOS}: the splits would not be the shipped models'",
              file=sys.stderr)
        return 1
    prepare(legacy_src, legacy)
    prepare(args.photos, args.out, keep_splits=legacy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
