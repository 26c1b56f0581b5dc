"""One blueprint per area; each module exports `bp`."""
