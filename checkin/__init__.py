"""Tickets (QR), check-in, the door scanner and its offline PWA."""
