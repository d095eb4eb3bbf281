"""Single-image scene synthesis for mom4d: one photo in, a multi-view looping video out."""
