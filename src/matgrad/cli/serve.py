"""`matgrad serve [--port N]`: the local web page, served until Ctrl+C.

The socket is bound here, before the server starts, so the printed address is the real
one even with `--port 0` (any free port).
"""
from __future__ import annotations

import argparse
import socket
import sys

DEFAULT_PORT = 8765
MAX_CONNECTIONS = 128  # open connections at once (then 503)


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


def _hosts(host: str, port: int, shown: str) -> tuple:
    """The Host headers to answer to: the address bound, and `localhost` for a loopback
    one. Bound to every address (0.0.0.0, ::), the names are not known: any Host."""
    if host in ("0.0.0.0", "::", ""):
        return ()
    names = [f"{shown}:{port}"]
    if host.startswith("127.") or host == "::1":
        names += [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"]
    return tuple(dict.fromkeys(names))


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
    app = create_app(limits, hosts=_hosts(host, port, shown))
    # connections beyond the cap are answered 503 at once; an idle connection is closed
    # after 5 s; a request's head may not exceed 64 KiB while it trickles in
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2, limit_concurrency=MAX_CONNECTIONS,
                            timeout_keep_alive=5, h11_max_incomplete_event_size=64 * 1024)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    return 0
