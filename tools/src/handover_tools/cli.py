"""`handover-dev`: run the whole system locally, and keep the merged OpenAPI document current."""

import argparse
import signal
import sys
import threading
from pathlib import Path

from handover_tools import compatibility, demo, openapi
from handover_tools.postgres import from_environment_or_embedded
from handover_tools.stack import HRIS_PROCESSOR, REPO_ROOT, Ports, Stack

COMMITTED_OPENAPI = REPO_ROOT / "deploy" / "gateway" / "site" / "openapi.json"
CONTRACTS = REPO_ROOT / "clients" / "contract"
"""The contract of each released API version, as `openapi-<version>.json`."""


def say(message: str) -> None:
    print(message, flush=True)  # read line by line when piped, not at exit


def up(data_dir: Path, *, load_demo: bool, gateway_port: int, hris_apart: bool = False) -> int:
    data_dir = data_dir.resolve()
    say(f"Data directory: {data_dir} (kept between runs)")
    server = from_environment_or_embedded(data_dir / "postgres")
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        workers = [HRIS_PROCESSOR] if hris_apart else []
        with Stack(server, data_dir, Ports.from_gateway(gateway_port), workers=workers) as stack:
            if load_demo:
                loaded = demo.load(stack.gateway_url, stack.admin_key)
                say("Demo data loaded." if loaded else "Demo data present from an earlier run.")
            say(f"Gateway:  {stack.gateway_url}")
            say(f"API docs: {stack.gateway_url}/docs")
            say(f"Admin key: {stack.admin_key}")
            say(f"Logs:     {data_dir / 'logs'}")
            say("Press Ctrl-C to stop.")
            while not stopping.wait(0.5):
                if any(process.poll() is not None for process in stack.processes.values()):
                    print("A process exited unexpectedly; stopping. See the logs.", file=sys.stderr)
                    return 1
            say("Stopping...")
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="handover-dev")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("up", help="run PostgreSQL, migrations, services, gateway, demo data")
    run.add_argument("--data-dir", type=Path, default=REPO_ROOT / ".data")
    run.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    run.add_argument(
        "--port",
        type=int,
        default=8000,
        help="the gateway's port; the services take the next three",
    )
    run.add_argument(
        "--hris-processor-apart",
        action="store_true",
        help="apply HRIS events in a process of their own, as production does",
    )
    spec = commands.add_parser("openapi", help="write the merged OpenAPI document")
    spec.add_argument(
        "--check",
        action="store_true",
        help="fail if the committed one is stale or breaks the snapshot of its version",
    )
    spec.add_argument(
        "--snapshot",
        action="store_true",
        help=f"also keep it as the snapshot of its version, in {CONTRACTS.relative_to(REPO_ROOT)}",
    )
    args = parser.parse_args(argv)

    if args.command == "up":
        sys.exit(
            up(
                args.data_dir,
                load_demo=not args.no_demo,
                gateway_port=args.port,
                hris_apart=args.hris_processor_apart,
            )
        )
    document = openapi.merged_document()
    rendered = openapi.render(document)
    if args.check:
        if COMMITTED_OPENAPI.read_text() != rendered:
            sys.exit(f"{COMMITTED_OPENAPI} is stale: run `handover-dev openapi`")
        try:
            breaks = compatibility.breaks_since_snapshot(document, CONTRACTS)
        except compatibility.NoSnapshot as exc:
            sys.exit(str(exc))
        if breaks:
            sys.exit("\n".join(["Breaking changes without a new version:", *map(str, breaks)]))
        return
    COMMITTED_OPENAPI.write_text(rendered)
    say(f"Wrote {COMMITTED_OPENAPI}")
    if args.snapshot:
        try:
            say(f"Wrote {compatibility.take_snapshot(document, CONTRACTS)}")
        except FileExistsError as exc:
            sys.exit(str(exc))


if __name__ == "__main__":
    main()
