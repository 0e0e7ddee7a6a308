"""A network for WebRTC media in the browser tests: a namespace made by the test, a veth pair, and
addresses that exist nowhere else.

On loopback alone neither Chromium nor Asterisk offers an ICE candidate (RFC 8445 leaves loopback
out), so no media would flow. The test makes a network namespace holding one end of a veth pair
(``198.18.N.2``) with Chromium inside it; the other end (``198.18.N.1``) stays with Asterisk in
the root namespace. The addresses come from the benchmarking range 198.18.0.0/15 (RFC 2544),
which no real network uses, and the namespace has no route but to its peer: nothing leaves the
machine. The console and Asterisk's WebSocket listen on loopback, so a forwarder on ``198.18.N.1``
carries the page's TCP connections to them. Everything is removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.integration.support import TEST_PORT_BASE

# One /30 per port base, so test runs side by side get their own link.
_SUBNET = (TEST_PORT_BASE // 100) % 64
HOST_ADDRESS = f"198.18.{_SUBNET * 4 // 256}.{_SUBNET * 4 % 256 + 1}"
BROWSER_ADDRESS = f"198.18.{_SUBNET * 4 // 256}.{_SUBNET * 4 % 256 + 2}"
NAMESPACE = f"tawasul{TEST_PORT_BASE}"
HOST_LINK = f"tw{TEST_PORT_BASE}h"
BROWSER_LINK = f"tw{TEST_PORT_BASE}b"


def netns_unavailable() -> str | None:
    """Why this machine cannot make a network namespace (None when it can)."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "making a network namespace needs root (CI runs as root)"
    probe = f"{NAMESPACE}probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], check=False)
    return None


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


@dataclass
class MediaNetwork:
    """The namespace, the veth pair and a wrapper that starts Chromium inside the namespace."""

    namespace: str
    host_address: str
    browser_address: str
    chromium: Path

    def forward(self, port: int) -> Forwarder:
        """Carry TCP connections to ``host_address:port`` on to ``127.0.0.1:port``."""
        return Forwarder((self.host_address, port), ("127.0.0.1", port)).start()


@contextlib.contextmanager
def media_network(directory: Path, chromium: str) -> Iterator[MediaNetwork]:
    """Make the namespace and the veth pair; remove both afterwards, whatever happened."""
    _remove(NAMESPACE, HOST_LINK)  # left by a run that was killed
    try:
        _ip("netns", "add", NAMESPACE)
        _ip("link", "add", HOST_LINK, "type", "veth", "peer", "name", BROWSER_LINK)
        _ip("link", "set", BROWSER_LINK, "netns", NAMESPACE)
        # IPv4 only: an IPv6 link-local address appearing after Chromium started would be a
        # "network change", which aborts the page's loads (ERR_NETWORK_CHANGED).
        _sysctl(None, f"net.ipv6.conf.{HOST_LINK}.disable_ipv6=1")
        _sysctl(NAMESPACE, "net.ipv6.conf.all.disable_ipv6=1")
        _sysctl(NAMESPACE, f"net.ipv6.conf.{BROWSER_LINK}.disable_ipv6=1")
        _ip("address", "add", f"{HOST_ADDRESS}/30", "dev", HOST_LINK)
        _ip("link", "set", HOST_LINK, "up")
        _ip("-n", NAMESPACE, "address", "add", f"{BROWSER_ADDRESS}/30", "dev", BROWSER_LINK)
        _ip("-n", NAMESPACE, "link", "set", BROWSER_LINK, "up")
        _ip("-n", NAMESPACE, "link", "set", "lo", "up")
        directory.mkdir(parents=True, exist_ok=True)
        wrapper = directory / "chromium-in-namespace"
        # Playwright talks to Chromium over a pipe, which crosses the namespace untouched.
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {NAMESPACE} {chromium} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        yield MediaNetwork(NAMESPACE, HOST_ADDRESS, BROWSER_ADDRESS, wrapper)
    finally:
        _remove(NAMESPACE, HOST_LINK)


def _sysctl(namespace: str | None, setting: str) -> None:
    inside = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*inside, "sysctl", "-qw", setting], check=True, capture_output=True)


def _remove(namespace: str, link: str) -> None:
    # Deleting the namespace deletes the veth end inside it, and with it the pair.
    subprocess.run(["ip", "netns", "delete", namespace], capture_output=True, check=False)
    subprocess.run(["ip", "link", "delete", link], capture_output=True, check=False)


class Forwarder:
    """A TCP relay from one address to another, one thread for every connection."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(listen, reuse_port=False)
        self.server.settimeout(0.2)
        self._stopping = threading.Event()

    def start(self) -> Forwarder:
        """Accept connections in a thread until stop()."""
        threading.Thread(target=self._serve, name="forwarder", daemon=True).start()
        return self

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        with client, upstream, selectors.DefaultSelector() as selector:
            client.setblocking(False)
            upstream.setblocking(False)
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while not self._stopping.is_set():
                for key, _ in selector.select(timeout=0.2):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = source.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    key.data.setblocking(True)
                    try:
                        key.data.sendall(data)
                    except OSError:  # the other side went away (reset): this relay is over
                        return
                    key.data.setblocking(False)

    def stop(self) -> None:
        """Stop accepting and end the relays."""
        self._stopping.set()
        self.server.close()
