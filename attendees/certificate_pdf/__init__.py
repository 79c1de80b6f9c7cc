"""Certificates of attendance: bilingual (Khmer, English) A4 PDFs.

``certificates.pdf`` is the renderer: a pure function from a :class:`CertificateContent` to
PDF bytes. Models, issuing, verification and mail build on it.
"""
