"""Models of the curricula package; they arrive with their issue."""
