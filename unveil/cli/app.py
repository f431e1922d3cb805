"""`unveil app`: the Streamlit app on this machine, with usage statistics off and the server on
localhost only (unveil.app.launch), from wherever Unveil is installed."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("app", help="start the web app on this machine (localhost only)",
                                   description="Start Unveil's web app. It listens on localhost only and sends "
                                               "no usage statistics; photos never leave this machine.")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: Streamlit's, 8501)")
    parser.add_argument("--headless", action="store_true", help="do not open a browser window")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from unveil.app.launch import run_app

    return run_app(port=args.port, headless=args.headless)
