package io.sparsetrain.prune;

import java.io.IOException;

/** A serialized {@link MaskSet} that cannot be read: wrong magic, unknown version, corrupt content. */
public class MalformedMaskException extends IOException {
    private static final long serialVersionUID = 1L;

    public MalformedMaskException(String message) {
        super(message);
    }
}
