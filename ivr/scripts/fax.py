"""The fax script: after ReceiveFAX, the TIFF becomes a PDF and a request (channel "fax").

It runs in the h extension of ``[tawasul-fax]``, so also after a sender hung up mid-transfer;
the channel is gone by then, and only variables are read and set.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from ivr import variables as var
from ivr.agi import Channel
from ivr.faxdoc import tiff_to_pdf
from ivr.flows.callback_number import saudi_mobile_or_none
from ivr.paths import SPOOL, host_path
from ivr.scripts.base import CallContext
from tawasul.documents import DocumentStore
from tawasul.faxes import FaxIntake, ReceivedFax
from tawasul.vault import vault_for

log = logging.getLogger(__name__)

FOLDER = "fax"


def run(channel: Channel, ctx: CallContext) -> None:
    """Record the fax that just ended on this channel: document, request, reason."""
    faxes = FaxIntake(ctx.intake)
    if faxes.recorded(ctx.session, channel.uniqueid) is not None:
        log.info("fax %s already recorded", channel.uniqueid)
        return
    call = ctx.intake.open_call(ctx.session, channel.uniqueid, channel.caller_id)
    ctx.call = call
    tiff = host_path(ctx.settings, spooled_file(channel.get_variable(var.FAX_FILE) or ""))
    vault = vault_for(ctx.settings)
    store = DocumentStore(ctx.settings.var_dir, vault)
    relative, pdf = store.new_path(FOLDER, ".pdf")
    plain = pdf.with_name(pdf.name + ".plain")
    try:
        pages = tiff_to_pdf(tiff, plain)
        if pages:
            vault.write(relative, plain.read_bytes())  # encrypted at rest, like every document
    finally:
        plain.unlink(missing_ok=True)
    branch = channel.get_variable(var.BRANCH) or ctx.settings.default_branch
    if branch not in ctx.settings.branches:
        branch = ctx.settings.default_branch
    fax = ReceivedFax(
        uniqueid=channel.uniqueid,
        sender=channel.caller_id or None,
        fax_status=(channel.get_variable(var.FAX_STATUS) or "").strip(),
        fax_error=(channel.get_variable(var.FAX_ERROR) or "").strip(),
        status_text=(channel.get_variable(var.FAX_STATUS_TEXT) or "").strip(),
        remote_station_id=(channel.get_variable(var.FAX_REMOTE_STATION) or "").strip(),
        document_path=relative if pages else None,
        pages=pages,
    )
    try:
        reception = faxes.record(
            ctx.session,
            fax,
            branch,
            saudi_mobile_or_none(channel.caller_id),
            call=call,
        )
    except Exception:
        # The request was not filed: the PDF goes, the TIFF stays in the spool for a retry.
        store.discard(relative)
        raise
    # The PDF is the document now; the TIFF inside the chroot would only pile up.
    tiff.unlink(missing_ok=True)
    channel.set_variable(var.FAX_STATUS, reception.status.value)


def spooled_file(value: str) -> PurePosixPath:
    """The TIFF's path, which must be a file directly in the project's spool directory.

    Raises:
        ValueError: for any other path (the variable comes from the dialplan, but a path is
            only opened where the project writes).
    """
    path = PurePosixPath(value.strip())
    if path.parent != SPOOL or not path.name.endswith(".tif") or ".." in path.parts:
        raise ValueError(f"fax file outside the spool: {value!r}")
    return path
