"""Shadow mode: a candidate scoring model scores live events beside the live one, never acted on."""
