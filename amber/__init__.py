"""amber: preserve production bugs in amber."""
