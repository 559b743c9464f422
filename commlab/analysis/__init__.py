"""What the lab computes about runs: the lower bounds, measurements of bits, and statistics."""
