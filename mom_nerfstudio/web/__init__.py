"""A trained scene as a self-contained web page: the loop baked into compact per-frame data, and a WebGL2 viewer."""
