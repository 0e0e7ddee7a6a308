"""A carrier for the trunk tests: a second Asterisk from the project's chroot, its own ports.

It has two faces towards the centre: an IP trunk (it knows the centre by its address and
port, and sends from ``ip_port``) and a registration trunk (the centre registers as
``centre`` on ``register_port``; calls come back to the registered contact). Whatever the centre
sends it (callbacks) lands in ``[carrier-from-centre]``, which reports each call with a
``CarrierCall`` user event (the number dialled, the caller ID shown, the carrier's endpoint),
answers and hangs up after two seconds. Its callers are placed by AMI Originate and run
``[carrier-caller]``: the scripted caller of ``[tawasul-simulator]`` (``s<language>`` speaks the
voice message as 3 s of tone), plus ``x<uri>``, a transfer request (SIP REFER) to the centre;
or ``[carrier-fax]``, a fax machine.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from tawasul_cli.asterisk import CONFIG_DIR, REPO, Harness

CENTRE_USER = "centre"
"""The registration trunk's username on both sides."""


@dataclass
class Carrier(Harness):
    """The carrier's Asterisk; ``settings.sip_port`` is unused (two transports of its own)."""

    ip_port: int = 0
    register_port: int = 0
    centre_port: int = 0
    """The centre's SIP port (its loopback transport)."""
    password: str = ""

    def install_config(self) -> None:
        """Write the carrier's configuration (not the project's dialplans) into the chroot."""
        uid, gid = self._asterisk_ids()
        etc = self.root / CONFIG_DIR.lstrip("/")
        if etc.exists():
            shutil.rmtree(etc)
        etc.mkdir(parents=True)
        for name in ("modules.conf", "logger.conf"):
            shutil.copyfile(REPO / "dialplans" / name, etc / name)
        (etc / "asterisk.conf").write_text(self._asterisk_conf())
        (etc / "manager.conf").write_text(self._manager_conf())
        (etc / "pjsip.conf").write_text(self._pjsip_conf())
        (etc / "extensions.conf").write_text(CARRIER_DIALPLAN)
        for path in [etc, *etc.iterdir()]:
            os.chown(path, 0, gid)
            path.chmod(0o750 if path.is_dir() else 0o640)
        for name in ("run/asterisk", "var/log/asterisk", "var/spool/asterisk", "var/lib/asterisk"):
            directory = self.root / name
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, uid, gid)

    def _configure_runtime(self) -> None:
        """Nothing to set: the carrier has no FastAGI server."""

    def _pjsip_conf(self) -> str:
        media = "media_address = 127.0.0.1\nbind_rtp_to_media_address = yes"
        return f"""; the carrier of the trunk tests
[global]
type = global
; The centre's REGISTER is known by its user before its address (both trunks share it).
endpoint_identifier_order = username,ip,anonymous

[carrier-ip]
type = transport
protocol = udp
bind = 127.0.0.1:{self.ip_port}

[carrier-register]
type = transport
protocol = udp
bind = 127.0.0.1:{self.register_port}

[centre-ip]
type = endpoint
context = carrier-from-centre
transport = carrier-ip
disallow = all
allow = alaw
dtmf_mode = rfc4733
aors = centre-ip
direct_media = no
rtp_symmetric = yes
{media}

[centre-ip]
type = aor
contact = sip:127.0.0.1:{self.centre_port}

[centre-ip]
type = identify
endpoint = centre-ip
match = 127.0.0.1:{self.centre_port}

[{CENTRE_USER}]
type = endpoint
context = carrier-from-centre
transport = carrier-register
disallow = all
allow = alaw
dtmf_mode = rfc4733
aors = {CENTRE_USER}
auth = {CENTRE_USER}-auth
direct_media = no
rtp_symmetric = yes
{media}

[{CENTRE_USER}]
type = aor
max_contacts = 1
remove_existing = yes

[{CENTRE_USER}-auth]
type = auth
auth_type = userpass
username = {CENTRE_USER}
password = {self.password}
"""


CARRIER_DIALPLAN = """; the carrier of the trunk tests
[general]
autofallthrough=yes

[carrier-from-centre]
; A call the centre placed through the carrier (a callback): say so, answer, end.
exten => _[+0-9].,1,Set(ENDPOINT=${CHANNEL(endpoint)})
 same => n,UserEvent(CarrierCall,Number: ${EXTEN},CallerID: ${CALLERID(num)},Endpoint: ${ENDPOINT})
 same => n,Answer()
 same => n,Wait(2)
 same => n,Hangup()

[carrier-caller]
; The carrier's subscriber calling the centre: SIM_SCRIPT as in [tawasul-simulator], and
; x<uri> asks the centre to transfer the call there (REFER).
exten => s,1,NoOp(Carrier caller)
 same => n,Set(I=1)
 same => n(loop),Set(STEP=${CUT(SIM_SCRIPT,/,${I})})
 same => n,GotoIf($["${STEP}" = ""]?done)
 same => n,GotoIf($["${STEP}" = "h"]?hangup)
 same => n,GotoIf($["${STEP:0:1}" = "w"]?wait)
 same => n,GotoIf($["${STEP:0:1}" = "x"]?transfer)
 same => n,GotoIf($["${STEP:0:1}" = "s"]?speak)
 same => n,SendDTMF(${STEP})
 same => n,Goto(next)
 ; s<language>: the voice message, 3 s of tone (the menu keeps only a message with audio).
 same => n(speak),Playtones(440)
 same => n,Wait(3)
 same => n,StopPlaytones()
 same => n,Goto(next)
 same => n(wait),Wait(${STEP:1})
 same => n,Goto(next)
 same => n(transfer),Transfer(${STEP:1})
 same => n,UserEvent(CarrierTransfer,Status: ${TRANSFERSTATUS},Protocol: ${TRANSFERSTATUSPROTOCOL})
 same => n(next),Set(I=$[${I} + 1])
 same => n,Goto(loop)
 same => n(done),Wait(120)
 same => n(hangup),Hangup()

[carrier-fax]
; The carrier's subscriber sending a fax (SIM_FAX_FILE, a TIFF in the carrier's chroot).
exten => s,1,SendFAX(${SIM_FAX_FILE},f)
 same => n,UserEvent(CarrierFaxSent,Status: ${FAXOPT(status)},Pages: ${FAXOPT(pages)})
 same => n,Hangup()
"""
