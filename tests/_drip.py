"""Drip a request body onto a raw socket: one byte every 0.2 s until the server answers."""

from __future__ import annotations

import socket
import time

__all__ = ["drip_until_answer"]


def drip_until_answer(sock: socket.socket, give_up_after: float) -> tuple[bytes, float]:
    """Send one byte every 0.2 s (never tripping a per-read timeout) until an answer arrives.

    Returns what the server sent (empty when it closed without an answer or ``give_up_after``
    seconds passed) and the seconds elapsed since the first byte.
    """
    started = time.monotonic()
    answer = b""
    while time.monotonic() - started < give_up_after and not answer:
        try:
            sock.sendall(b" ")
        except OSError:
            break
        time.sleep(0.2)
        sock.setblocking(False)
        try:
            answer += sock.recv(65536)
        except BlockingIOError:
            pass
        except OSError:
            break
        finally:
            sock.setblocking(True)
    return answer, time.monotonic() - started
