"""Certificates: issuing, verification, design, the PDF renderer."""
