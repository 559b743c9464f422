"""The lab's figures: each is data computed by the library, then drawn from that data alone."""
