"""`choreo train …`: demo data, feature cache, the training stages, evaluation and ablations.

Sub-commands (each also runs as ``python -m training.<stage>`` and under ``torchrun``):

* ``demo-data OUT``: write the deterministic demo labeled + unlabeled song set.
* ``prepare --labeled DIR --unlabeled DIR --cache DIR``: analyse and cache features (resumable);
  ``prepare --pairs DIR`` takes a folder of (song, dance) takes instead (Tang's layout, or BVH/glb
  takes beside their songs): the library is imported from the same dances into CACHE/library
  and each dance phrase becomes a labelled pair aligned on its song's beats
  (``training.real_pairs``); ``--unlabeled`` may be repeated.
* ``pretrain`` / ``finetune`` / ``coascent`` ``--cache DIR --run-dir DIR``: train up to that
  stage (finished earlier stages are reused from the run's checkpoints); ``coascent`` also writes
  the model bundle.
* ``evaluate --cache DIR --model BUNDLE``: held-out top-1/5/10 of a bundle vs the baselines; on a
  ``--pairs`` cache ``evaluate --cache DIR --run-dir DIR`` runs the real protocol instead
  (``training.crossval``: split by song, trained per fold, genre and own-phrase retrieval with
  song-clustered intervals, next to the descriptor matcher, most-frequent and chance).
* ``ablation --cache DIR --run-dir DIR``: Groups I–V, printed as the paper's Table 1 (on a
  ``--pairs`` cache: per fold, equal budgets, the protocol's table with intervals).
* ``demo --out DIR --bundle PATH``: the one command that builds the bundled model: demo data,
  prepare, pre-train, fine-tune, co-ascent, bundle.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.progress import ProgressFn, cli_stage, no_progress
from choreo_studio.training.config import PRESETS as TRAINING_PRESETS

DEFAULT_PRESET = "cpu"
DEMO_LABELED = 160
DEMO_UNLABELED = 320
PAIRS_LIBRARY = "library"


def _library(path: str | None):
    """The library folder given, else the demo library (generated once, then cached)."""
    from choreo_studio.core.library.library import Library

    with cli_stage("library") as progress:
        if path:
            return Library.load(path, progress)
        from choreo_studio.resources.demo_library import load_demo_library

        return load_demo_library(progress)


def _printer(enabled: bool) -> ProgressFn:
    """Per-epoch summary lines on stderr (rank 0), above the tqdm bars."""
    from tqdm import tqdm

    def report(fraction: float, message: str) -> None:
        if enabled:
            tqdm.write(message, file=sys.stderr)

    return report


def _config(args: argparse.Namespace):
    from choreo_studio.training.config import TrainConfig, preset_config

    config = TrainConfig.load(args.config) if args.config else preset_config(args.preset)
    overrides = {}
    for item in args.set or []:
        if "=" not in item:
            raise ChoreoError(f"--set {item!r}: write KEY=VALUE, e.g. --set pretrain.epochs=5")
        key, value = item.split("=", 1)
        overrides[key.strip()] = value.strip()
    return config.with_overrides(overrides) if overrides else config


def _add_run_options(p: argparse.ArgumentParser, *, run: bool = True) -> None:
    p.add_argument("--cache", required=True, help="feature cache folder (from `prepare`)")
    if run:
        p.add_argument("--run-dir", required=True,
                       help="run folder: config, log.csv, checkpoints, metrics")
    p.add_argument("--library", help="dance library folder (default: the demo library)")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(TRAINING_PRESETS),
                   help="training preset (default %(default)s)")
    p.add_argument("--config", help="a config.json written by an earlier run (overrides --preset)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a setting, e.g. --set pretrain.epochs=5 (repeatable)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from the run's checkpoints")


def _add_fold_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folds", type=int, default=0,
                   help="--pairs cache: folds by song (default 0: leave one song out)")
    p.add_argument("--bootstrap", type=int, default=1000,
                   help="bootstrap resamples of the songs (default %(default)s)")
    p.add_argument("--table", help="also write the table (text) to this file")
    p.add_argument("--no-pair-cues", action="store_true", help="--pairs: T without the "
                   "explicit (music, dance) cue term (networks.PairCues), for the ablation")
    p.add_argument("--bundle", help="--pairs: also train Group IV on every danced song and "
                   "write it as this model bundle (outside the project: derived from the data)")
    p.add_argument("--no-select", action="store_true", help="--pairs: Groups III-V train the "
                   "preset's epochs instead of the counts chosen on set-aside training songs")
    p.add_argument("--genre-loss", type=float, help="--pairs: weight of the leave-own-dance-"
                   "out genre loss (0: Eq. 5 alone; default 3, crossval.GENRE_LOSS_WEIGHT)")


def _library_for(args: argparse.Namespace):
    """--library, else the library a --pairs prepare imported into the cache, else the demo."""
    cached = Path(args.cache) / PAIRS_LIBRARY
    if not args.library and (cached / "library.json").is_file():
        return _library(str(cached))
    return _library(args.library)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``choreo train`` and its sub-commands."""
    parser = subparsers.add_parser(
        "train", help="train a model for a dance library (pre-train, fine-tune, co-ascent)",
        description=__doc__.split("\n\n")[0],
    )
    sub = parser.add_subparsers(dest="train_command", metavar="STAGE", required=True)

    p = sub.add_parser("demo-data", help="write the demo labeled + unlabeled song set")
    p.add_argument("out", help="output folder (labeled/ and unlabeled/ are created inside)")
    p.add_argument("--labeled", type=int, default=DEMO_LABELED,
                   help="labeled songs (default %(default)s)")
    p.add_argument("--unlabeled", type=int, default=DEMO_UNLABELED,
                   help="unlabeled songs (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--library", help="dance library folder (default: the demo library)")
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("prepare", help="analyse songs and cache their phrase features")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--labeled", help="folder of songs + timeline JSON exports")
    given.add_argument("--pairs", help="folder of (song, dance) takes (Tang's layout, or takes "
                                       "beside their songs)")
    p.add_argument("--unlabeled", action="append",
                   help="folder of songs without dances (repeatable)")
    p.add_argument("--no-undanced", action="store_true",
                   help="--pairs: leave out the songs' undanced parts as unlabelled music")
    p.add_argument("--max-unlabeled", type=int, help="--pairs: use at most this many "
                                                     "unlabelled songs")
    p.add_argument("--cache", required=True, help="feature cache folder to write")
    p.add_argument("--library", help="dance library folder (default: the demo library)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes per rank")
    p.set_defaults(func=_cmd_prepare)

    for stage in ("pretrain", "finetune", "coascent"):
        p = sub.add_parser(stage, help=f"train up to {stage} (earlier stages reused)")
        _add_run_options(p)
        p.add_argument("--stop-after", type=int, metavar="EPOCHS",
                       help="stop each stage after this many epochs (resume later)")
        if stage == "coascent":
            p.add_argument("--bundle",
                           help="model bundle to write (default RUN_DIR/model.choreomodel)")
        p.set_defaults(func=_cmd_stage, stage=stage)

    p = sub.add_parser("evaluate", help="held-out top-1/5/10 of a model bundle, or the real "
                                        "protocol on a --pairs cache")
    _add_run_options(p, run=False)
    p.add_argument("--model", help="model bundle folder (a timeline cache)")
    p.add_argument("--run-dir", help="run folder of the per-fold training (a --pairs cache)")
    p.add_argument("--groups", default="V", help="--pairs: groups to train and judge, "
                                                 "comma-separated (default %(default)s)")
    _add_fold_options(p)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("ablation", help="Groups I-V of the paper's Table 1")
    _add_run_options(p)
    _add_fold_options(p)
    p.set_defaults(func=_cmd_ablation)

    p = sub.add_parser("demo", help="demo data + prepare + full training + bundle, in one go")
    p.add_argument("--out", required=True, help="work folder (data, cache, run)")
    p.add_argument("--bundle", required=True, help="model bundle to write")
    p.add_argument("--labeled", type=int, default=DEMO_LABELED)
    p.add_argument("--unlabeled", type=int, default=DEMO_UNLABELED)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--library", help="dance library folder (default: the demo library)")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(TRAINING_PRESETS))
    p.add_argument("--config")
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", action="store_true")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from choreo_studio.training.demo_data import write_demo_set

    library = _library(args.library)
    with cli_stage("demo songs") as progress:
        labeled, unlabeled = write_demo_set(args.out, library, n_labeled=args.labeled,
                                            n_unlabeled=args.unlabeled, seed=args.seed,
                                            progress=progress)
    print(f"labeled songs + timelines: {labeled}\nunlabeled songs: {unlabeled}")
    return 0


def _prepare(labeled: str, unlabeled: str | None, cache: str, library, workers: int) -> None:
    from choreo_studio.training.data_cache import (
        find_labeled_songs,
        find_unlabeled_songs,
        prepare_dataset,
        write_manifest,
    )
    from choreo_studio.training.distributed import init_distributed

    ctx = init_distributed("cpu")
    labeled_sources = find_labeled_songs(labeled)
    unlabeled_sources = find_unlabeled_songs(unlabeled) if unlabeled else []
    with cli_stage("features") if ctx.is_main else nullcontext(no_progress) as progress:
        entries = prepare_dataset(cache, labeled_sources, unlabeled_sources, workers=workers,
                                  rank=ctx.rank, world_size=ctx.world_size, progress=progress)
    if ctx.distributed:
        import torch.distributed as dist

        gathered: list[Any] = [None] * ctx.world_size
        dist.all_gather_object(gathered, entries)
        entries = _round_robin(gathered)
    if ctx.is_main:
        write_manifest(cache, entries, library.name, library.fingerprint)
        n_lab = sum(e["labeled"] for e in entries)
        n_phr = sum(e["n_phrases"] for e in entries)
        print(f"{cache}: {len(entries)} songs ({n_lab} labeled), {n_phr} phrases")
    ctx.shutdown()


def _round_robin(parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Undo the rank split (rank r held items r, r+W, …) to restore the original order."""
    out = []
    for i in range(max(len(p) for p in parts)):
        out.extend(p[i] for p in parts if i < len(p))
    return out


def _cmd_prepare(args: argparse.Namespace) -> int:
    if args.pairs:
        return _prepare_pairs(args)
    if args.unlabeled and len(args.unlabeled) > 1:
        raise ChoreoError("--unlabeled: give one folder with --labeled (several need --pairs)")
    _prepare(args.labeled, args.unlabeled[0] if args.unlabeled else None, args.cache,
             _library(args.library), args.workers)
    return 0


def _prepare_pairs(args: argparse.Namespace) -> int:
    """Import the library from the pairs' dances (once) and cache the labelled pairs."""
    from choreo_studio.core.library.importing import import_library
    from choreo_studio.training.real_pairs import prepare_pairs

    cached = Path(args.cache) / PAIRS_LIBRARY
    library_dir = args.library or str(cached)
    if args.library:
        library = _library(args.library)
    elif (cached / "library.json").is_file():
        library = _library(str(cached))
    else:
        with cli_stage("import") as progress:
            library, report = import_library(args.pairs, progress=progress)
        for line in report.skipped:
            print(f"skipped: {line}", file=sys.stderr)
        library.save(cached)
    with cli_stage("pairs") as progress:
        entries = prepare_pairs(args.pairs, library, args.cache, unlabeled=args.unlabeled or [],
                                undanced=not args.no_undanced, max_unlabeled=args.max_unlabeled,
                                workers=args.workers, library_dir=library_dir,
                                progress=progress)
    labeled = [e for e in entries if e["labeled"]]
    octave = [e["name"] for e in labeled if e["octave_error"]]
    print(f"{args.cache}: {len(labeled)} danced songs, {sum(e['n_phrases'] for e in labeled)} "
          f"pairs, {len(entries) - len(labeled)} unlabelled songs/parts "
          f"({sum(e['n_phrases'] for e in entries if not e['labeled'])} phrases); library "
          f"{len(library)} phrases; tempo-octave errors of the analysis: "
          f"{', '.join(octave) or 'none'}")
    return 0


def _runner(args: argparse.Namespace, run_dir: str, ctx):
    from choreo_studio.training.loop import StageRunner

    return StageRunner.create(run_dir, ctx, progress=_printer(ctx.is_main), resume=args.resume,
                              stop_after_epoch=getattr(args, "stop_after", None))


def _cmd_stage(args: argparse.Namespace) -> int:
    from choreo_studio.training.distributed import init_distributed
    from choreo_studio.training.evaluate import format_report
    from choreo_studio.training.pipeline import load_training_data, train_model

    config = _config(args)
    library = _library_for(args)
    ctx = init_distributed(args.device)
    try:
        data = load_training_data(args.cache, library, config)
        runner = _runner(args, args.run_dir, ctx)
        bundle = getattr(args, "bundle", None) or str(Path(args.run_dir) / "model.choreomodel")
        result = train_model(data, library, config, runner, until=args.stage,
                             bundle_path=bundle if args.stage == "coascent" else None)
        if ctx.is_main:
            _print_result(result.metrics, format_report)
            if result.bundle_path:
                print(f"model bundle: {result.bundle_path}")
    finally:
        ctx.shutdown()
    return 0


def _print_result(metrics: dict[str, Any], format_report) -> None:
    print(", ".join(f"{k} {v}" for k, v in metrics["data"].items()))
    for stage in ("finetune", "coascent"):
        if stage in metrics:
            print(f"after {stage} (held-out songs):\n{format_report(metrics[stage])}")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from choreo_studio.core.retrieval.model_bundle import load_bundle
    from choreo_studio.training.crossval import is_pairs_cache
    from choreo_studio.training.distributed import init_distributed
    from choreo_studio.training.evaluate import format_report
    from choreo_studio.training.finetune import embed_phrases
    from choreo_studio.training.pipeline import evaluate_predictor, load_training_data

    if is_pairs_cache(args.cache):
        return _protocol(args, [g.strip() for g in args.groups.split(",") if g.strip()])
    if not args.model:
        raise ChoreoError(f"{args.cache}: a timeline cache is judged with --model BUNDLE")
    config = _config(args)
    library = _library_for(args)
    bundle = load_bundle(args.model)
    bundle.check_library(library)
    ctx = init_distributed(args.device)
    network = bundle.build_network().to(ctx.device)
    data = load_training_data(args.cache, library, config)
    test = embed_phrases(network.encoder, data.test, ctx)
    report = evaluate_predictor(network.predictor, test, data, config)
    if ctx.is_main:
        print(format_report(report))
    ctx.shutdown()
    return 0


def _cmd_ablation(args: argparse.Namespace) -> int:
    from choreo_studio.training.ablation import format_table, run_ablation
    from choreo_studio.training.crossval import is_pairs_cache
    from choreo_studio.training.distributed import init_distributed
    from choreo_studio.training.pipeline import load_training_data

    if is_pairs_cache(args.cache):
        return _protocol(args, ["I", "II", "III", "IV", "V"])
    config = _config(args)
    library = _library_for(args)
    ctx = init_distributed(args.device)
    try:
        data = load_training_data(args.cache, library, config)
        results = run_ablation(data, library, config, _runner(args, args.run_dir, ctx))
        if ctx.is_main:
            print(format_table(results))
    finally:
        ctx.shutdown()
    return 0


def _protocol(args: argparse.Namespace, groups: list[str]) -> int:
    """Cross-validate ``groups`` by song on a --pairs cache and print the protocol's table."""
    from choreo_studio.training.crossval import cross_validate, load_real_data
    from choreo_studio.training.distributed import init_distributed
    from choreo_studio.training.evaluate import format_protocol
    from choreo_studio.training.selection import chosen_epochs_line

    if not args.run_dir:
        raise ChoreoError("a --pairs cache trains per fold: give --run-dir")
    config = _config(args)
    library = _library_for(args)
    real = load_real_data(args.cache, library)
    if args.no_pair_cues:
        real.dance_cues = None
    if args.genre_loss is not None:
        if not args.genre_loss >= 0:
            raise ChoreoError(f"--genre-loss {args.genre_loss}: give a weight of 0 or more")
        real.sets = (None if real.sets is None
                     else dataclasses.replace(real.sets, weight=args.genre_loss))
    ctx = init_distributed(args.device)
    try:
        report = cross_validate(real, library, config, args.run_dir, ctx, groups=groups,
                                n_folds=args.folds or None, n_boot=args.bootstrap,
                                select=not args.no_select,
                                progress=_printer(ctx.is_main))
        if ctx.is_main:
            text = "\n\n".join(f"[{s}]\n{format_protocol(report, s)}"
                                for s in ("all", "octave_ok", "octave_error")
                                if any(s in m for m in report["methods"].values()))
            text += (f"\nfolds {len(report['folds'])}, equal budgets: pre-train "
                     f"{config.pretrain.epochs}, classifier {config.finetune.epochs} epochs "
                     f"(Group V: {max(config.finetune.epochs - config.coascent.epochs, 1)} + "
                     f"{config.coascent.epochs} co-ascent); Group I from random weights")
            if report.get("chosen_epochs"):
                text += "\n" + chosen_epochs_line(report["chosen_epochs"])
            print(text)
            if args.table:
                Path(args.table).write_text(text + "\n", encoding="utf-8")
        if args.bundle:
            from choreo_studio.training.crossval import final_model

            bundle = final_model(real, library, config, Path(args.run_dir), ctx,
                                 _printer(ctx.is_main))
            if ctx.is_main:
                print(f"model bundle (trained on every danced song): {bundle.save(args.bundle)}")
    finally:
        ctx.shutdown()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from choreo_studio.training.demo_data import write_demo_set
    from choreo_studio.training.distributed import init_distributed
    from choreo_studio.training.evaluate import format_report
    from choreo_studio.training.pipeline import load_training_data, train_model

    started = time.monotonic()
    out = Path(args.out)
    library = _library(args.library)
    config = _config(args)
    with cli_stage("demo songs") as progress:
        labeled, unlabeled = write_demo_set(out / "data", library, n_labeled=args.labeled,
                                            n_unlabeled=args.unlabeled, seed=config.seed,
                                            song_cache_dir=out / "cache" / "songs",
                                            progress=progress)
    print(f"demo data written ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    _prepare(str(labeled), str(unlabeled), str(out / "cache"), library, args.workers)
    print(f"features cached ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    data = load_training_data(out / "cache", library, config)
    ctx = init_distributed(args.device)
    result = train_model(data, library, config, _runner(args, str(out / "run"), ctx),
                         bundle_path=args.bundle)
    _print_result(result.metrics, format_report)
    print(f"model bundle: {result.bundle_path}\ntotal wall time {time.monotonic() - started:.0f} s")
    return 0


def main_stage(stage: str) -> int:
    """Entry point of ``python -m training.<stage>``: ``choreo train <stage> ARGS``."""
    from choreo_studio.core.cli import main

    return main(["train", stage, *sys.argv[1:]])
