"""`matgrad serve [--port N]`: the local web page, served until Ctrl+C.

The socket is bound here, before the server starts, so the printed address is the real
one even with `--port 0` (any free port).
"""
from __future__ import annotations

import argparse
import socket
import sys

DEFAULT_PORT = 8765


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matgrad serve", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve matgrad's web page on this machine (needs the 'web' extra: "
                    "pip install 'matgrad[web]').",
        epilog="examples:\n  matgrad serve                 http://127.0.0.1:8765/\n"
               "  matgrad serve --port 0        any free port (the address is printed)\n"
               "  matgrad serve --port 8000 --timeout 30\n\n"
               "Exit status: 0 when stopped with Ctrl+C, 2 on an error.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"the port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds one derivation may take (default 10)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, not {args.port}", file=sys.stderr)
        return 2
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as err:
        print(f"error: the web page needs the 'web' extra ({err.name} is missing): "
              "pip install 'matgrad[web]'", file=sys.stderr)
        return 2
    from ..web import Limits, create_app
    if args.timeout is not None and not args.timeout > 0:
        print("error: --timeout must be a positive number of seconds", file=sys.stderr)
        return 2
    limits = Limits() if args.timeout is None else Limits(timeout_s=args.timeout)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port}: {err.strerror}",
              file=sys.stderr)
        return 2
    sock.listen(128)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"matgrad: serving on http://{shown}:{port}/  (Ctrl+C to stop)", flush=True)
    config = uvicorn.Config(create_app(limits), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0
