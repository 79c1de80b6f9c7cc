"""The certificate as a PDF: one bilingual (Khmer, English) A4 landscape page.

``page.render_certificate`` is a pure function from a ``CertificateContent`` to PDF bytes;
``fonts``, ``textfit``, ``images`` and ``embedding`` are its parts. Issuing, verification and
mail (``attendees/certificates.py``) build on it.
"""
