"""A SIP softphone for the tests: baresip (Debian baresip-core) driven through its ctrl_tcp module.

It registers nothing: it calls chan_pjsip on loopback as the ``tester`` endpoint the harness
generates, sends DTMF as RFC 4733 events (``sndcode``), and hangs up.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path


class BaresipPhone:
    """One baresip process with its own SIP and control ports."""

    def __init__(self, directory: Path, sip_port: int, ctrl_port: int) -> None:
        self.directory = directory
        self.sip_port = sip_port
        self.ctrl_port = ctrl_port
        self.process: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None

    def start(self, asterisk_port: int, password: str) -> BaresipPhone:
        """Write the configuration and start baresip; wait for its control port."""
        self.directory.mkdir(parents=True, exist_ok=True)
        silence = self.directory / "silence.wav"
        subprocess.run(
            ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(silence), "trim", "0", "300"],
            check=True,
        )
        # SIP TLS takes sip_port + 1: the control port must be elsewhere.
        (self.directory / "config").write_text(
            f"""poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
audio_player aufile,{self.directory / "heard.wav"}
audio_source aufile,{silence}
audio_alert aufile,{self.directory / "alert.wav"}
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
"""
        )
        (self.directory / "accounts").write_text(
            f"<sip:tester@127.0.0.1:{asterisk_port};transport=udp>;auth_pass={password};"
            "regint=0;audio_codecs=PCMU\n"
        )
        log = (self.directory / "baresip.log").open("ab")
        self.process = subprocess.Popen(
            ["baresip", "-f", str(self.directory)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=5)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def command(self, name: str, params: str = "") -> None:
        """Send one ctrl_tcp command (a netstring of JSON)."""
        assert self._sock is not None
        data = json.dumps({"command": name, "params": params, "token": name}).encode()
        self._sock.sendall(str(len(data)).encode() + b":" + data + b",")

    def play(self, script: str) -> None:
        """Run a simulator script over SIP: "w1.5" waits, digits are sent as RFC 4733 events."""
        for step in script.split("/"):
            if step.startswith("w"):
                time.sleep(float(step[1:]))
            elif step == "h":
                self.command("hangup")
            else:
                for digit in step:
                    self.command("sndcode", digit)
                    time.sleep(0.3)

    def stop(self) -> None:
        """Hang up and stop baresip."""
        if self._sock is not None:
            try:
                self.command("hangup")
                self.command("quit")
            except OSError:
                pass
            self._sock.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
