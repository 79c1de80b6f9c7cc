"""Models of the attendees package; they arrive with their issue."""
