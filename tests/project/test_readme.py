"""The README's Quick start is what CI runs, every `unveil` command it shows is one the command accepts, and every
maintainer script the documentation names exists."""
from __future__ import annotations

import argparse
import re
import shlex

from tests.support.paths import REPO
from unveil.cli import build_parser

DOCUMENTS = ["README.md", "docs/app_pages.md", "docs/training.md", "docs/threat_model.md", "experiments/README.md",
             *(str(p.relative_to(REPO)) for p in sorted((REPO / "models").glob("*.md")))]
# A path into one of the folders that hold runnable scripts, ending in a script's suffix.
SCRIPT_PATH = re.compile(r"(?<![\w/])((?:tools|benchmarks|experiments|tests/support|fer_core/training)/[\w/.-]+\.(?:py|sh|js))")


def _quick_start_commands() -> list[str]:
    section = (REPO / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, re.S)


def test_ci_runs_the_second_quick_start_command_verbatim():
    commands = _quick_start_commands()
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == commands[1]


def test_every_script_the_documents_name_exists():
    named = {(doc, path) for doc in DOCUMENTS for path in SCRIPT_PATH.findall((REPO / doc).read_text())}
    assert len(named) > 20  # the pattern finds the figures' commands
    assert sorted((doc, path) for doc, path in named if not (REPO / path).is_file()) == []


def test_each_tool_and_benchmark_run_as_a_script_reads_its_options_with_argparse():
    """README: each Python tool and benchmark prints its usage with --help. One that reads no options started its run
    on --help (a browser session, two watch runs); a module that is not run as a script is exempt."""
    scripts = [p for folder in ("tools", "benchmarks") for p in sorted((REPO / folder).glob("*.py"))
               if '__name__ == "__main__"' in p.read_text()]
    assert len(scripts) > 40
    assert [str(p.relative_to(REPO)) for p in scripts if "ArgumentParser(" not in p.read_text()] == []


def test_no_hand_written_document_names_the_old_scripts_folder():
    """The model cards are left out: they quote each model file's own metadata, written when it was converted."""
    hand_written = [doc for doc in DOCUMENTS if not doc.startswith("models/")]
    assert [doc for doc in hand_written if "scripts/" in (REPO / doc).read_text()] == []


def _without_redirection(words: list[str]) -> list[str]:
    """A command's words before its output is sent to a file (`> FILE`, `2>> FILE`): the shell's, not the command's."""
    ends = [i for i, word in enumerate(words) if re.fullmatch(r"\d?>>?", word)]
    return words[:ends[0]] if ends else words


def _unveil_commands() -> list[str]:
    """Every line of the README's shell blocks that runs `unveil` (after any VAR=value), comment and redirection
    removed."""
    blocks = re.findall(r"```bash\n(.*?)\n```", (REPO / "README.md").read_text(), re.S)
    return [shlex.join(_without_redirection(shlex.split(line, comments=True))) for block in blocks
            for line in block.splitlines() if re.match(r"(\w+=\S+ )*unveil ", line)]


def test_every_unveil_command_in_the_readme_parses():
    """A line copied from the README runs as shown: no subcommand or option the parser refuses, and no two
    commands joined by a pipe (the second would read the first one's output as its passphrase)."""
    commands = _unveil_commands()
    assert len(commands) > 10
    parser = build_parser()
    refused = []
    for command in commands:
        argv = shlex.split(command)
        while "=" in argv[0]:
            argv.pop(0)
        try:
            parser.parse_args(argv[1:])
        except SystemExit:
            refused.append(command)
    assert refused == []


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})


def _takes(parser: argparse.ArgumentParser, option: str) -> bool:
    """Whether `parser`, or one of its subcommands (`unveil audit bias --out`: bias emotion's), takes `option`."""
    return option in parser._option_string_actions or any(_takes(sub, option) for sub in _subcommands(parser).values())


def _unknown_words(parser: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """The subcommands and options among `words` that `parser` does not have, following its subcommands. A span of
    prose may stop short of a whole command (`unveil family backup`, `unveil watch --jsonl`), so arguments left out
    are not counted; `renew|scope` stands for both."""
    subcommands = _subcommands(parser)
    unknown = []
    for at, word in enumerate(words):
        if word == "--":
            break
        if word.startswith("-"):
            unknown += [] if _takes(parser, word.split("=")[0]) else [word]
        elif subcommands:
            known = [w for w in word.split("|") if w in subcommands]
            if len(known) < len(word.split("|")):
                return [*unknown, word]
            return unknown + [w for name in known for w in _unknown_words(subcommands[name], words[at + 1:])]
    return unknown


def _unveil_spans(text: str) -> list[str]:
    """Every `unveil ...` span of a Markdown text's prose and tables (code blocks left out)."""
    return re.findall(r"`(?:\w+=\S+\s)*(unveil\s[^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def test_the_span_check_finds_a_subcommand_or_option_the_command_lacks():
    text = ("`unveil family backup` `unveil consent\n  renew|scope` `unveil watch --jsonl` `UNVEIL_PASSPHRASE=... unveil "
            "serve --port 1` `unveil family purge --yes -- \"-Ana\"` `unveil audit bias --out` `unveil family backups` "
            "`unveil audit verify --fix`"
            "\n```bash\nunveil nothing\n```")
    parser = build_parser()
    assert [_unknown_words(parser, shlex.split(span)[1:]) for span in _unveil_spans(text)] == [
        [], [], [], [], [], [], ["backups"], ["--fix"]]


def test_every_unveil_span_in_the_documents_names_subcommands_and_options_the_command_has():
    """A command named in a sentence or a table (`unveil retention sweep --date-is-right`) is one the command still
    takes, subcommand and options, after a rename on either side: in the README, the model cards and every document
    under docs/ and experiments/ (reports included)."""
    parser = build_parser()
    documents = [REPO / "README.md", *sorted((REPO / "models").glob("*.md")),
                 *(path for folder in ("docs", "experiments") for path in sorted((REPO / folder).rglob("*.md")))]
    spans = [(str(doc.relative_to(REPO)), span) for doc in documents for span in _unveil_spans(doc.read_text())]
    assert len(spans) > 200
    assert [(doc, span) for doc, span in spans if _unknown_words(parser, shlex.split(span)[1:])] == []


MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _broken_relative_links(text: str, folder) -> list[str]:
    """The links and pictures of a Markdown text (outside code blocks) to a file that is not there, relative to
    `folder`; web addresses and in-page anchors are left out."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [target for target in MARKDOWN_LINK.findall(text)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target) and target.split("#")[0]
            and not (folder / target.split("#")[0]).exists()]


def test_the_link_check_finds_a_broken_link():
    text = "[ok](README.md) ![pic](docs/missing.png) [web](https://example.org/x.md) [anchor](#limits)\n```\n[x](no.md)\n```"
    assert _broken_relative_links(text, REPO) == ["docs/missing.png"]


def test_every_relative_link_in_the_projects_markdown_resolves():
    """A household reading the README (or any document beside the code) on GitHub or in a checkout never
    follows a link, or sees a picture, that leads nowhere."""
    documents = [path for path in sorted(REPO.rglob("*.md"))
                 if not any(part.startswith(".") or part in ("node_modules", "site-packages")
                            for part in path.relative_to(REPO).parts)]
    assert len(documents) > 20
    broken = {str(doc.relative_to(REPO)): links for doc in documents
              if (links := _broken_relative_links(doc.read_text(errors="replace"), doc.parent))}
    assert broken == {}
