"""CLI subcommands that rebuild the models: prepare, train, evaluate."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from core.categories import CATEGORIES
from core.training.pipeline import STAGES  # no Keras import: cheap for --help

PRESETS = {
    # 2 CPU cores, about an hour: cached frozen features, no flips, short schedules.
    "cpu": dict(cache_features=True, flips=False, universal_epochs=4, category_epochs=3,
                batch_size=32, mixed_precision=False, widths=(64, 64, 48, 32)),
    # One H100/H200 under JAX: encoder in every step, bf16, flips, longer schedules.
    "gpu": dict(cache_features=False, flips=True, universal_epochs=24, category_epochs=15,
                batch_size=128, mixed_precision=True, paper=True, paper_epochs=12,
                paper_batch=64, paper_categories=True, paper_category_epochs=15,
                mse_baseline=True, mse_epochs=12),
    # 2 CPU cores, under an hour: fine-tune the shipped (GPU-trained) decoders on the
    # cached features of the category photos and 1,500 general ones, on random 128 px
    # windows, with half of the rebalancing (the shipped models' recipe, models/README.md).
    "finetune": dict(cache_features=True, flips=True, init_from="models",
                     general_photos=1500, universal_epochs=2, category_epochs=2,
                     patience=1, lr=3e-4,
                     category_lr=2e-4, batch_size=32, mixed_precision=False,
                     feature_crop=32, rebalance=0.5, min_photos=40),
    # Seconds: a smoke test of the whole pipeline.
    "tiny": dict(cache_features=True, flips=False, universal_epochs=1, category_epochs=1,
                 classifier_epochs=2, batch_size=8, min_photos=4, widths=(16, 16, 16, 16),
                 paper_epochs=1, paper_batch=4, mse_baseline=True, mse_epochs=1),
}


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="crop, resize, de-duplicate and split category photos")
    p.add_argument("src", type=Path, help="folder of <category>/ sub-folders of photos")
    p.add_argument("--out", type=Path, default=Path("data/prepared"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-splits", type=Path, metavar="INDEX",
                   help="an earlier prepared folder (or its index.csv): its photos keep their "
                        "split, only new photos are drawn")
    p.set_defaults(func=cmd_prepare)

    t = sub.add_parser("train", help="train the classifier and the colorizers")
    t.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    t.add_argument("--run", type=Path, default=Path("runs/default"),
                   help="run folder: checkpoints, logs, finished stages (resumable)")
    t.add_argument("--out", type=Path, help="write a complete models folder here")
    t.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    t.add_argument("--head", choices=("bins", "regression"), default="bins",
                   help="bins: rebalanced classification (vivid); regression: the paper's MSE")
    t.add_argument("--init-from", type=Path, metavar="MODELS",
                   help="fine-tune: start the universal decoder from this models folder's "
                        "(same widths; --preset finetune: models/)")
    t.add_argument("--rebalance", type=float, metavar="MIX",
                   help="loss mix: 1 = Zhang's class-rebalanced CE, 0 = plain likelihood")
    t.add_argument("--feature-crop", type=int, metavar="CELLS",
                   help="train on random windows of this side of the 64x64 feature grid")
    t.add_argument("--patience", type=int,
                   help="stop a stage after this many epochs without validation gain")
    t.add_argument("--category-init", choices=("universal", "better"),
                   help="start a category model from the universal, or from the better of it "
                        "and --init-from's model for that category (on its val photos)")
    t.add_argument("--lr", type=float, help="universal decoder learning rate")
    t.add_argument("--category-lr", type=float)
    t.add_argument("--no-general", action="store_true",
                   help="leave the prepared general/ photos out (universal and 'none')")
    t.add_argument("--general-photos", type=int, metavar="N",
                   help="at most N general training photos (evenly spread; CPU time)")
    t.add_argument("--world", type=Path, metavar="POOL",
                   help="also train the universal decoder on this pool's photos "
                        "(scripts/build_world_pool.py: objects, people, period plates)")
    t.add_argument("--world-photos", type=int, metavar="N",
                   help="at most N of the pool's train photos, shared alike by its sources")
    t.add_argument("--old-prints", type=float, metavar="SHARE",
                   help="share of photos the encoder sees as simulated old prints (0-1)")
    t.add_argument("--old-print-damage", type=float, metavar="SHARE",
                   help="share of those old prints with cracks, dust, tears, stains (0-1)")
    t.add_argument("--universal-epochs", type=int)
    t.add_argument("--category-epochs", type=int)
    t.add_argument("--paper-epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--min-photos", type=int, help="fewest training photos for an own model")
    t.add_argument("--categories", nargs="+", choices=CATEGORIES)
    t.add_argument("--paper", action="store_true", help="also train the paper's Fig. 3 net")
    t.add_argument("--schedule", choices=("default", "paper"), default="default",
                   help="paper: Adam, 500 epochs x 25 steps x batch 25, sheet every 50")
    t.add_argument("--paper-categories", action="store_true",
                   help="with --paper: also one Fig. 3 model per category (from the universal)")
    t.add_argument("--paper-category-epochs", type=int)
    t.add_argument("--paper-crop", type=int, metavar="PX",
                   help="train the Fig. 3 net on random crops of this side (CPU: 128)")
    t.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                   help="run only these stages (e.g. paper, into a run that has the rest)")
    t.add_argument("--limit", type=int, help="at most this many photos per category")
    t.add_argument("--no-resume", action="store_true", help="start every stage afresh")
    t.add_argument("--time-budget", type=float,
                   help="seconds; optional later stages are skipped once it is spent")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=cmd_train)

    a = sub.add_parser("adopt-decoders",
                       help="a models folder: BASE's files with a training run's decoders")
    a.add_argument("run_models", type=Path, help="the run's models folder (train --out)")
    a.add_argument("--base", type=Path, default=Path("models"))
    a.add_argument("--out", type=Path, required=True, help="a new folder")
    a.set_defaults(func=cmd_adopt_decoders)
    c = sub.add_parser("calibrate",
                       help="fit the classifier temperature and the colour decoding on val")
    c.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    c.add_argument("--models", type=Path, default=None)
    c.add_argument("--colour-photos", type=int, default=8,
                   help="validation photos per category for fitting the colour decoding")
    c.add_argument("--general-photos", type=int, default=120,
                   help="photos of the general validation set for fitting the colour decoding")
    c.add_argument("--general-dir", type=Path,
                   help="folder of general photos to sample when the prepared folder has no "
                        "general validation split")
    c.add_argument("--world", type=Path, metavar="POOL",
                   help="also fit the decoding on this world pool's validation photos "
                        "(objects, people, period plates)")
    c.add_argument("--world-photos", type=int, default=300, metavar="N",
                   help="at most N of them, shared alike by the pool's sources")
    c.add_argument("--decoding-only", action="store_true",
                   help="keep the classifier temperature; fit the colour decoding only")
    c.set_defaults(func=cmd_calibrate)

    b = sub.add_parser("backbones", help="the paper's Table I for every available backbone")
    b.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    b.add_argument("--run", type=Path, default=Path("runs/backbones"))
    b.add_argument("--names", nargs="+", help="backbones to try (default: all known)")
    b.add_argument("--report", type=Path, default=Path("docs/backbones.md"))
    b.add_argument("--limit", type=int, help="at most this many photos per category")
    b.set_defaults(func=cmd_backbones)

    e = sub.add_parser("evaluate", help="measure the models on the test split")
    e.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    e.add_argument("--models", type=Path, default=None)
    e.add_argument("--runs", nargs="*", default=[], metavar="[LABEL=]DIR",
                   help="extra models folders to compare (e.g. today's shipped models)")
    e.add_argument("--report", type=Path, default=Path("docs/results.md"))
    e.add_argument("--limit", type=int, help="at most this many test photos per category")
    e.add_argument("--general-limit", type=int,
                   help="at most this many photos of the general held-out set")
    e.add_argument("--general-split", choices=("test", "val"), default="test",
                   help="the part of the prepared general pool to report on (default test: "
                        "calibrate fits the decoding on val)")
    e.add_argument("--general-dir", type=Path,
                   help="folder of general photos to sample (every k-th) when the prepared "
                        "folder has no general validation split")
    e.add_argument("--update-manifest", action="store_true",
                   help="write the metrics into the models' manifest")
    e.add_argument("--baselines", type=Path, metavar="RUN",
                   help="a training run whose baseline colorizers (paper, mse) are measured "
                        "beside the models (in a temporary copy of the models folder)")
    e.set_defaults(func=cmd_evaluate)
    add_figures(sub)
    add_evaluate_world(sub)


def add_figures(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("figures", help="before/after sheets: worst cases, simulated old "
                                       "scans, real gray photos")
    f.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    f.add_argument("--models", type=Path, default=None, help="after (default: the shipped)")
    f.add_argument("--before", type=Path, help="models of before (default: the same), "
                                                "always with the plain decoding")
    f.add_argument("--out", type=Path, default=Path("docs/figures"))
    f.add_argument("--limit", type=int, default=4, help="test photos per category to search")
    f.add_argument("--general-dir", type=Path)
    f.set_defaults(func=cmd_figures)


def add_evaluate_world(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("evaluate-world",
                       help="held-out sets by source (objects, people, period plates, general, "
                            "old prints): gray and models folders side by side, worst cases")
    w.add_argument("--world", type=Path, default=Path("data/world"),
                   help="the world pool (its manifest.csv; split=test rows are the sets)")
    w.add_argument("--prepared", type=Path, default=Path("data/prepared"),
                   help="prepared folder: its general test split (and, degraded, old prints)")
    w.add_argument("--models", action="append", metavar="[LABEL=]DIR",
                   help="a models folder to measure, repeatable (e.g. before=models "
                        "after=runs/world/models); default before=models")
    w.add_argument("--limit", type=int, default=200, help="at most this many photos per set")
    w.add_argument("--report", type=Path, default=Path("docs/world.md"))
    w.add_argument("--cache", type=Path, default=Path("runs/world-eval/cache"),
                   help="where the judge's verdicts on the real photos are kept")
    w.add_argument("--batch", type=int, default=16)
    w.add_argument("--seed", type=int, default=0, help="base seed of the simulated old prints")
    w.set_defaults(func=cmd_evaluate_world)


def cmd_evaluate_world(args: argparse.Namespace) -> int:
    from core.training.world_eval import run_world

    t0 = time.perf_counter()
    run_world(args.world, args.prepared, args.models or ["before=models"], args.report,
              limit=args.limit, cache_dir=args.cache, batch=args.batch, seed=args.seed)
    print(f"wrote {args.report} and {args.report.with_suffix('.json')} "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from core.training.figures import make_figures

    files = make_figures(args.prepared, args.models, args.out, args.before, args.limit,
                         general_dir=args.general_dir)
    print("wrote " + ", ".join(str(args.out / f) for f in files))
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from core.training.prepare import prepare

    t0 = time.perf_counter()
    rows = prepare(args.src, args.out, seed=args.seed, keep_splits=args.keep_splits)
    counts = {s: sum(r.split == s for r in rows) for s in ("train", "val", "test")}
    print(f"prepared {len(rows)} photos {counts} in {time.perf_counter() - t0:.0f} s "
          f"-> {args.out}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from core.training.pipeline import run_training
    from core.training.train import TrainSettings, paper_schedule

    settings = TrainSettings(**PRESETS[args.preset], head=args.head, seed=args.seed)
    if args.universal_epochs is not None:
        settings.universal_epochs = args.universal_epochs
    if args.category_epochs is not None:
        settings.category_epochs = args.category_epochs
    if args.paper_epochs is not None:
        settings.paper_epochs = args.paper_epochs
    if args.batch_size is not None:
        settings.batch_size = settings.paper_batch = args.batch_size
    if args.min_photos is not None:
        settings.min_photos = args.min_photos
    if args.categories:
        settings.categories = tuple(args.categories)
    if args.paper or args.paper_categories:
        settings.paper = True
    if args.paper_categories:
        settings.paper_categories = True
    if args.paper_category_epochs is not None:
        settings.paper_category_epochs = args.paper_category_epochs
    if args.paper_crop is not None:
        settings.paper_crop = args.paper_crop
    if args.schedule == "paper":
        paper_schedule(settings)
    if args.time_budget is not None:
        settings.time_budget = args.time_budget
    if args.init_from is not None:
        settings.init_from = str(args.init_from)
    for name in ("rebalance", "feature_crop", "patience", "lr", "category_lr",
                 "general_photos", "category_init", "old_prints", "old_print_damage",
                 "world_photos"):
        if getattr(args, name) is not None:
            setattr(settings, name, getattr(args, name))
    if args.no_general:
        settings.general = False
    if args.world is not None:
        settings.world = str(args.world)
    settings.extra["preset"] = args.preset
    settings.extra["command"] = "python main.py " + shlex.join(sys.argv[1:])
    summary = run_training(args.prepared, args.run, settings, out=args.out,
                           limit=args.limit, resume=not args.no_resume,
                           stages=tuple(args.stages))
    print(json.dumps(summary, indent=1))
    return 0


def cmd_adopt_decoders(args: argparse.Namespace) -> int:
    from core.training.pipeline import adopt_decoders

    out = adopt_decoders(args.base, args.run_models, args.out)
    print(f"{out}: {args.base}'s models with the decoders of {args.run_models}; now run "
          f"`calibrate --models {out} --decoding-only` and `export-litert --models {out}`")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from core.training.calibrate import calibrate
    from core.training.dataset import load_split
    from core.training.evaluate import load_general

    colour_val = load_split(args.prepared, "val", args.colour_photos)
    val = colour_val if args.decoding_only else load_split(args.prepared, "val")
    general = load_general(args.prepared, args.general_photos, args.general_dir)
    train = load_split(args.prepared, "train", 100)
    world = None
    if args.world is not None:
        from core.training.dataset import load_world

        world = load_world(args.world, "val", args.world_photos)
    result = calibrate(args.models, val, colour_val, general_val=general, train=train,
                       classifier=not args.decoding_only, world_val=world)
    print(json.dumps({k: v for k, v in result.items() if k != "scores"}))
    return 0


def cmd_backbones(args: argparse.Namespace) -> int:
    from core.training.backbone_table import compare_backbones, render_table

    result = compare_backbones(args.prepared, args.run, args.names, args.limit)
    print(render_table(result, args.report))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    from core.store import models_dir_from_env
    from core.training.evaluate import run_evaluation
    from core.training.pipeline import add_baselines

    if not args.baselines:
        run_evaluation(args.prepared, args.models, args.report, runs=args.runs,
                       limit=args.limit, update_manifest=args.update_manifest,
                       general_limit=args.general_limit, general_dir=args.general_dir,
                       general_split=args.general_split)
        return 0
    if args.update_manifest:
        raise SystemExit("--update-manifest and --baselines: the metrics would land in a "
                         "temporary copy; run them separately")
    with tempfile.TemporaryDirectory(prefix="tinct-eval-") as tmp:
        models = Path(tmp) / "models"
        shutil.copytree(args.models or models_dir_from_env(), models)
        try:
            add_baselines(models, args.baselines)
        except FileNotFoundError as exc:
            raise SystemExit(str(exc)) from None
        run_evaluation(args.prepared, models, args.report, runs=args.runs, limit=args.limit,
                       general_limit=args.general_limit, general_dir=args.general_dir,
                       general_split=args.general_split)
    return 0
