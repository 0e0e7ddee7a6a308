"""Every channel variable the dialplan and the AGI scripts share, named once."""

AGI_STATUS = "TAWASUL_AGI_STATUS"
"""Set by the server at the end of a script: OK, or FAILED when the script broke. The dialplan
treats anything but OK (including nothing, when the server was unreachable) as a failure."""
STATUS_OK = "OK"
STATUS_FAILED = "FAILED"

NEXT = "TAWASUL_NEXT"
"""Where the dialplan sends the caller after the script: "hangup" or "agent"."""
NEXT_HANGUP = "hangup"
NEXT_AGENT = "agent"

REFERENCE = "TAWASUL_REFERENCE"
"""The reference number of the request filed on this call."""
BRANCH = "TAWASUL_BRANCH"
"""The branch whose queue takes the caller (set by the dialplan per DID, default riyadh)."""
LANGUAGE = "CHANNEL(language)"

FAX_FILE = "TAWASUL_FAX_FILE"
"""Where ReceiveFAX wrote the fax's TIFF (Asterisk's view of the spool)."""
FAX_STATUS = "TAWASUL_FAX_STATUS"
"""Copies of FAXOPT(status), FAXOPT(error), FAXOPT(statusstr) and FAXOPT(pages), taken in the
h extension before the fax script runs."""
FAX_ERROR = "TAWASUL_FAX_ERROR"
FAX_STATUS_TEXT = "TAWASUL_FAX_STATUS_TEXT"
FAX_REMOTE_STATION = "FAXOPT(remotestationid)"

QUEUE_JOINED = "TAWASUL_QUEUE_JOINED"
"""When the caller first joined the agent queue (epoch seconds with milliseconds), inherited by
the callback place-holder so that callbacks keep their place."""
QUEUE_STATUS = "QUEUESTATUS"
"""Set by app_queue when Queue() returns without an agent: TIMEOUT, FULL, JOINEMPTY,
LEAVEEMPTY, JOINUNAVAIL, LEAVEUNAVAIL, CONTINUE or WITHDRAW."""
QUEUE_POSITION = "QUEUEPOSITION"
"""Set by app_queue: the caller's position when leaving the queue with a key."""
CALLBACK_ID = "TAWASUL_CALLBACK_ID"
"""The callback a place-holder channel stands for (set by the callback placer)."""
CALLBACK_POSITION = "TAWASUL_QUEUE_POSITION"
"""Where the place-holder enters the queue (Queue's position argument)."""
