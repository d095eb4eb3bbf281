"""The synthesis: one landscape photo in, a cached multi-view looping video dataset out, before any training."""
