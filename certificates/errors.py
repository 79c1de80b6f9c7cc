"""Errors of the certificates package (see ``sala.errors`` for the whole tree)."""

from __future__ import annotations

from sala.errors import Conflict, NotFound
from sala.i18n import N_


class NoCheckIns(Conflict):
    """Certificates are for people who were there."""

    code = "no_check_ins"
    message = N_(
        "Nobody was checked in at this session, so there is nobody to give a certificate to."
    )


class CertificateNotFound(NotFound):
    """No certificate with this code (or a malformed code): the same answer for both."""

    code = "certificate_not_found"
    message = N_("There is no certificate with this code. Check the code and try again.")


class CertificateReplaced(Conflict):
    """Reissuing a certificate that was already reissued (a second click, two staff at once)."""

    code = "certificate_replaced"
    message = N_("This certificate has already been replaced by a newer one.")


class CertificateHolderGone(Conflict):
    """Reissuing for a holder who deleted their data: there is no name to print."""

    code = "certificate_holder_gone"
    message = N_("The holder deleted their data: there is nobody to give a new certificate to.")


class NothingToPrint(Conflict):
    """Printing a session's certificates when none is valid."""

    code = "nothing_to_print"
    message = N_("There is no valid certificate to print yet: issue them first.")


class PrintNotReady(NotFound):
    """The combined PDF is not made yet, or no longer kept (outdated by a revocation, or old)."""

    code = "print_not_ready"
    message = N_("This PDF is not available. Print the certificates again.")
