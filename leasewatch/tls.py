"""How every HTTPS client of leasewatch verifies its server, and says why it could not.

One place for the XenAPI and Proxmox inventories (and their event streams), the webhooks
and the Kea control URL, so a ``tls_ca`` means the same everywhere:

- ``tls_ca`` given: the server must present a certificate that CA signed, whatever the
  environment says. requests lets ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) replace a
  *session's* ``verify`` (psf/requests#3829: ``Session.merge_environment_settings`` puts
  the environment's bundle in the request's place, and the request's value wins over the
  session's), so ``requests_verify`` is passed with each request, never set on a session;
- ``verify_ssl = false`` (XenAPI, Proxmox): no verification, also with such a variable set
  (an explicit ``verify=False`` is left alone by requests);
- neither: the system's CAs; for the requests-based clients (Proxmox, webhooks, Kea)
  ``REQUESTS_CA_BUNDLE`` replaces them, as requests documents, and for XenAPI (Python's
  ``ssl``) ``SSL_CERT_FILE`` does.

A CA file that cannot be read is an error naming it before any connection (``load_ca``);
a certificate the CA did not sign is one line in ssl's words (``reason``).
"""

from __future__ import annotations

import ssl
from pathlib import Path


class CaFileError(Exception):
    """``tls_ca`` names a file that is missing, unreadable or holds no PEM certificate;
    each adapter turns it into its room's error (the message names the file)."""


def load_ca(tls_ca: Path | None, verify: bool = True) -> ssl.SSLContext:
    """A client context verifying against ``tls_ca`` (else the system's CAs); with
    ``verify`` false, one that verifies nothing."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if tls_ca is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(tls_ca))
    except FileNotFoundError:
        raise CaFileError(f"tls_ca {tls_ca}: no such file") from None
    except IsADirectoryError:
        raise CaFileError(f"tls_ca {tls_ca}: is a directory, expected a PEM file") from None
    except ssl.SSLError:
        raise CaFileError(f"tls_ca {tls_ca}: no PEM certificate in it") from None
    except OSError as exc:
        raise CaFileError(f"tls_ca {tls_ca}: cannot read it: {exc.strerror}") from None


def requests_verify(tls_ca: Path | None, verify: bool = True) -> str | bool:
    """requests' ``verify=`` for one request: the CA file (checked first, so a bad one is
    a ``CaFileError`` rather than requests' OSError), False, or True (the defaults)."""
    if not verify:
        return False
    if tls_ca is None:
        return True
    load_ca(tls_ca)
    return str(tls_ca)


def reason(exc: BaseException, tls_ca: Path | None = None, *, can_skip: bool = False) -> str | None:
    """Why a TLS handshake failed, one line in ssl's words, from the exception or what it
    wraps (requests wraps urllib3 wraps ssl); None when no TLS error is inside. Never the
    exception's own text, which for requests holds the whole URL. An untrusted certificate
    says what to do: check ``tls_ca``, or set one (``can_skip``: or turn verify_ssl off)."""
    inner: BaseException | None = exc
    seen = 0
    while inner is not None and seen < 20:
        if isinstance(inner, ssl.SSLCertVerificationError):
            why = inner.verify_message or "certificate verify failed"
            return f"certificate not trusted: {why}{_untrusted_hint(tls_ca, can_skip)}"
        if isinstance(inner, ssl.SSLError):
            return f"TLS failure: {str(inner.reason or type(inner).__name__).lower()}"
        nested = getattr(inner, "reason", None)
        if isinstance(nested, BaseException):
            inner = nested
        elif inner.args and isinstance(inner.args[0], BaseException):
            inner = inner.args[0]
        else:
            inner = inner.__cause__ or inner.__context__
        seen += 1
    return None


def _untrusted_hint(tls_ca: Path | None, can_skip: bool) -> str:
    if tls_ca is not None:
        return f" (is tls_ca {tls_ca} the CA that signed it?)"
    skip = ", or verify_ssl = false" if can_skip else ""
    return f" (set tls_ca to the CA that signed it{skip})"
