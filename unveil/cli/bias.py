"""`unveil audit bias emotion|identity`: the bias audit from the command line.

    unveil audit bias emotion ../shared/data/fer4/test --out reports/bias
    unveil audit bias identity trials.csv --threshold 0.5 --score-kind distance --group gender --out reports/bias
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from unveil.cli._store_args import reports_errors

if TYPE_CHECKING:
    # Only for type checking: the bias audit loads SciPy and matplotlib (seconds, and matplotlib writes a
    # font cache), which every other `unveil` command would otherwise pay for when the parser is built.
    from governance.bias_audit import AuditSettings, BiasAudit

# The exit status of `--fail-on-flag` when a group is flagged (1 is taken by errors).
FLAGGED_EXIT = 3
# The AuditSettings fields the command line sets (--min-group-size ...). An option left out is not
# passed on, so the default is AuditSettings' own; the help texts quote it (tests check they agree).
SETTING_OPTIONS = ("min_group_size", "gap_threshold", "confidence", "n_boot", "seed")


def add_bias_command(audit_subparsers: argparse._SubParsersAction) -> None:
    """Add `bias` with its `emotion` and `identity` sub-commands to the `unveil audit` command set."""
    bias = audit_subparsers.add_parser("bias", help="how evenly a model works across groups of faces")
    kinds = bias.add_subparsers(dest="bias_kind", required=True)

    emotion = kinds.add_parser("emotion", help="audit the emotion model on a labelled set of face crops")
    emotion.add_argument("data", help="folder of <class>/ sub-folders, or a CSV manifest (path, label, group columns)")
    emotion.add_argument("--model", help="emotion ONNX model (default: the shipped one)")
    emotion.add_argument("--no-proxy", action="store_true", help="skip the automatic proxy groups")
    emotion.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")
    _add_common(emotion)
    emotion.set_defaults(handler=_emotion)

    identity = kinds.add_parser("identity", help="false match / non-match rates per group from trial results")
    identity.add_argument("trials", help="CSV with genuine, score and group columns")
    identity.add_argument("--threshold", type=float, required=True, help="the operating threshold")
    identity.add_argument("--score-kind", choices=("distance", "similarity"), required=True,
                          help="distance: match when score <= threshold; similarity: when score >= threshold")
    identity.add_argument("--model", help="the identity model the trials came from (its SHA-256 goes in the report)")
    identity.add_argument("--cluster", action="append", dest="clusters", default=[],
                          help="a column naming which trials share a person (repeatable, at most two, e.g. "
                               "probe_person and enrolled_person): not a group; the rates' intervals allow for it")
    _add_common(identity)
    identity.set_defaults(handler=_identity)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder for the HTML, JSON and per-row CSV")
    parser.add_argument("--group", action="append", dest="groups",
                        help="compare only this group column (repeatable; default: all)")
    unset = argparse.SUPPRESS  # see SETTING_OPTIONS
    parser.add_argument("--min-group-size", type=int, default=unset,
                        help="smaller groups are shown but not flagged or compared (default 30)")
    parser.add_argument("--gap-threshold", type=float, default=unset,
                        help="flag a group worse than the rest by more than this, interval excluding 0 (default 0.05)")
    parser.add_argument("--confidence", type=float, default=unset, help="interval level (default 0.95)")
    parser.add_argument("--n-boot", type=int, default=unset, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=unset, help="bootstrap seed (default 0)")
    parser.add_argument("--fail-on-flag", action="store_true",
                        help=f"exit with status {FLAGGED_EXIT} when a group is flagged (for CI)")


def audit_settings(args: argparse.Namespace) -> AuditSettings:
    """The AuditSettings of the options given; AuditSettings checks them (AuditError when out of range)."""
    from governance.bias_audit import AuditSettings

    return AuditSettings(**{name: getattr(args, name) for name in SETTING_OPTIONS if hasattr(args, name)})


@reports_errors
def _emotion(args: argparse.Namespace) -> int:
    # imported here: it loads onnxruntime, needed only when this command runs
    from governance.bias_audit import audit_emotion_model

    audit, paths = audit_emotion_model(data=args.data, out_dir=args.out, model=args.model, groups=args.groups,
                                       proxy=not args.no_proxy, settings=audit_settings(args), threads=args.threads,
                                       progress=True)
    return _summarise(audit, paths, args)


@reports_errors
def _identity(args: argparse.Namespace) -> int:
    from governance.bias_audit import audit_identity_trials

    audit, paths = audit_identity_trials(trials=args.trials, threshold=args.threshold, score_kind=args.score_kind,
                                         out_dir=args.out, groups=args.groups, model=args.model,
                                         settings=audit_settings(args), clusters=args.clusters)
    return _summarise(audit, paths, args)


def _summarise(audit: BiasAudit, paths, args: argparse.Namespace) -> int:
    for name, estimate in audit.overall.overall.items():
        if "[" not in name:  # per-class numbers are in the report
            print(f"{name}: {estimate.value:.4f} [{estimate.low:.4f}, {estimate.high:.4f}]")
    flags = audit.flags
    for flag in flags:
        gap = flag.gap
        print(f"FLAGGED {flag.column} = {flag.group} (n={flag.size}): {flag.metric} gap to the rest "
              f"{gap.value:+.4f} [{gap.low:+.4f}, {gap.high:+.4f}]")
    if not flags:
        print("no group flagged")
    print(f"report: {paths.html}\nnumbers: {paths.json}")
    return FLAGGED_EXIT if flags and args.fail_on_flag else 0
