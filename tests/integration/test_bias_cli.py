"""`unveil audit bias emotion|identity`: runs the audit end to end on an ONNX model or trial CSV."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from governance.bias_audit import CSV_NOT_UTF8
from tests.support.bias_audit import write_brightness_model, write_cohorts
from unveil.cli.bias import FLAGGED_EXIT, SETTING_OPTIONS, add_bias_command, audit_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unveil")
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser("audit").add_subparsers(dest="audit_command", required=True)
    add_bias_command(audit)
    return parser


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.handler(args)


@pytest.fixture(scope="module")
def brightness_model(tmp_path_factory):
    return write_brightness_model(tmp_path_factory.mktemp("model") / "brightness.onnx")


def test_emotion_audit_from_the_command_line(tmp_path, brightness_model, capsys):
    # Every face is labelled happy; the model calls the dark ones sad: the dim group is flagged.
    manifest = write_cohorts(tmp_path / "set", {"dark": (60, 0), "light": (60, 0)},
                             fills={"dark": (30, 30, 30), "light": (200, 200, 200)})
    table = pd.read_csv(manifest).assign(label="happy")
    table.to_csv(manifest, index=False)
    code = _run(["audit", "bias", "emotion", str(manifest), "--model", str(brightness_model),
                 "--out", str(tmp_path / "out"), "--n-boot", "200", "--fail-on-flag"])
    out = capsys.readouterr().out
    assert code == FLAGGED_EXIT
    assert "FLAGGED illumination = dim (n=60): accuracy gap to the rest -1.0000" in out
    assert "FLAGGED cohort = dark (n=60)" in out
    numbers = json.loads((tmp_path / "out" / "emotion_bias_audit.json").read_text())
    assert numbers["context"]["model"]["file"] == "brightness.onnx"
    assert numbers["context"]["model"]["version"] == "test-1"
    assert numbers["overall"]["accuracy"]["value"] == 0.5


def test_identity_audit_from_the_command_line(tmp_path, capsys):
    trials = tmp_path / "trials.csv"
    rng = np.random.default_rng(1)
    pd.DataFrame({
        "genuine": ["true"] * 100 + ["false"] * 100,
        "score": np.concatenate([rng.uniform(0.2, 0.45, 100), rng.uniform(0.6, 1.0, 100)]),
        "gender": ["female", "male"] * 100,
    }).to_csv(trials, index=False)
    code = _run(["audit", "bias", "identity", str(trials), "--threshold", "0.5", "--score-kind", "distance",
                 "--out", str(tmp_path / "out"), "--n-boot", "200"])
    out = capsys.readouterr().out
    assert code == 0
    assert "false_match_rate: 0.0000" in out and "no group flagged" in out
    assert (tmp_path / "out" / "identity_bias_audit.html").is_file()


def test_errors_are_one_line_and_status_1(tmp_path, capsys):
    code = _run(["audit", "bias", "identity", str(tmp_path / "missing.csv"), "--threshold", "0.5",
                 "--score-kind", "distance", "--out", str(tmp_path / "out")])
    assert code == 1
    assert capsys.readouterr().err == f"error: trials file not found: {tmp_path / 'missing.csv'}\n"
    assert not (tmp_path / "out").exists()



def test_a_manifest_that_is_not_utf8_is_one_line_not_a_traceback(tmp_path, brightness_model, capsys):
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes("path,label,group\nx.png,happy,Zoë\n".encode("latin-1"))
    code = _run(["audit", "bias", "emotion", str(manifest), "--model", str(brightness_model),
                 "--out", str(tmp_path / "out")])
    assert code == 1
    assert capsys.readouterr().err == f"error: {CSV_NOT_UTF8.format(path=manifest, byte='0xeb')}\n"
    assert not (tmp_path / "out").exists()

def test_settings_left_out_are_audit_settings_defaults_which_the_help_quotes(capsys):
    from governance.bias_audit import AuditSettings

    identity = ["audit", "bias", "identity", "trials.csv", "--threshold", "0.5", "--score-kind", "distance", "--out", "o"]
    assert audit_settings(_parser().parse_args(identity)) == AuditSettings()
    given = _parser().parse_args([*identity, "--n-boot", "200", "--seed", "3", "--gap-threshold", "0.1"])
    assert audit_settings(given) == AuditSettings(n_boot=200, seed=3, gap_threshold=0.1)
    with pytest.raises(SystemExit):
        _parser().parse_args(["audit", "bias", "emotion", "--help"])
    options = " ".join(capsys.readouterr().out.split()).split(" --")  # one piece per option, help wrapping undone
    for name in SETTING_OPTIONS:
        (described,) = [o for o in options if o.startswith(name.replace("_", "-") + " ")]
        assert described.endswith(f"(default {getattr(AuditSettings(), name)})"), described
