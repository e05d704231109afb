/** sparsetrain core: pruning methods, masks, sparse layers and the N:M sparse-kernel engine. */
package io.sparsetrain;
